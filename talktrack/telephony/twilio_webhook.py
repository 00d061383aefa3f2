"""Twilio webhooks, sans-I/O: the request signature check and the ``<Connect><Stream>`` TwiML."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr


def signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """``X-Twilio-Signature`` for a POST: HMAC-SHA1 over the URL and the sorted form fields, base64."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_ok(url: str, params: Mapping[str, str], auth_token: str, header: str | None) -> bool:
    """True when the header matches (constant-time comparison)."""
    if not header:
        return False
    return hmac.compare_digest(signature(url, params, auth_token), header)


def connect_stream_twiml(stream_url: str, parameters: Mapping[str, str]) -> str:
    """TwiML that connects the call to our media-stream WebSocket, passing ``parameters`` along."""
    params = "".join(
        f"<Parameter name={quoteattr(name)} value={quoteattr(value)}/>" for name, value in parameters.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Connect><Stream url={quoteattr(stream_url)}>{params}</Stream></Connect></Response>"
    )


def say_and_hangup_twiml(text: str) -> str:
    """TwiML for a call we cannot take: say why, then hang up."""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Say>{escape(text)}</Say><Hangup/></Response>'
