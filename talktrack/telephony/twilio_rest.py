"""Outbound calls through Twilio's REST API (the official SDK), answered by our voice webhook."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlencode

from talktrack.errors import ConfigError, TalkTrackError
from talktrack.settings import Settings

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Twilio's answering-machine detection modes, passed through unchanged.
MACHINE_DETECTION = ("Enable", "DetectMessageEnd")


def check_number(number: str, what: str = "phone number") -> str:
    """An E.164 number (+ and 7–15 digits), spaces and dashes removed; ConfigError otherwise."""
    compact = re.sub(r"[\s\-().]", "", number)
    if not _E164.match(compact):
        raise ConfigError(f"{what} {number!r} is not an E.164 number", fix="write it like +13125550142")
    return compact


def place_call(
    settings: Settings,
    *,
    to: str,
    agent_id: str,
    context: Mapping[str, str] | None = None,
    machine_detection: str | None = None,
) -> str:
    """Ask Twilio to dial ``to``; when answered it fetches our TwiML. Returns the call SID."""
    from twilio.base.exceptions import TwilioException
    from twilio.rest import Client

    missing = [
        name
        for name, value in (
            ("TALKTRACK_TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("TALKTRACK_TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
            ("TALKTRACK_TWILIO_FROM_NUMBER", settings.twilio_from_number),
            ("TALKTRACK_PUBLIC_URL", settings.public_url),
        )
        if not value
    ]
    if missing:
        raise ConfigError(f"outbound Twilio calls need {', '.join(missing)}", fix="set them in the environment or .env")
    if machine_detection is not None and machine_detection not in MACHINE_DETECTION:
        raise ConfigError(f"machine detection {machine_detection!r} is unknown", fix=f"use one of {MACHINE_DETECTION}")
    assert settings.public_url and settings.twilio_from_number
    query = urlencode({"agent_id": agent_id, **(context or {})})
    webhook = f"{settings.public_url.rstrip('/')}/telephony/twilio/voice?{query}"
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token)
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url
    # Call progress (and the answering-machine verdict) come back to /telephony/twilio/status.
    status = f"{settings.public_url.rstrip('/')}/telephony/twilio/status?{urlencode({'agent_id': agent_id})}"
    extra: dict[str, object] = {}
    if machine_detection:
        extra = {"machine_detection": machine_detection, "async_amd": "true", "async_amd_status_callback": status}
    try:
        call = client.calls.create(
            to=check_number(to),
            from_=check_number(settings.twilio_from_number, "TALKTRACK_TWILIO_FROM_NUMBER"),
            url=webhook,
            method="POST",
            status_callback=status,
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            status_callback_method="POST",
            **extra,
        )
    except TwilioException as exc:
        raise TalkTrackError(f"Twilio refused the call: {exc}", fix="check the account SID, token and numbers") from exc
    return str(call.sid)
