"""Calls through Telnyx Call Control v2 over plain HTTPS (``httpx``): dial, answer, hang up, send keys.

Every call we place or answer streams into our ``/telephony/telnyx/stream`` in bidirectional RTP
mode with PCMU both ways (8 kHz G.711 μ-law, what the line speaks). Dial and answer cannot set a
stream's ``custom_parameters``, so the stream parameters (agent id, call id, context) ride in
``client_state`` (see ``telnyx_stream.encode_client_state``); Telnyx echoes it in the stream's
``start`` and in every webhook of the call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from talktrack.errors import ConfigError, TalkTrackError
from talktrack.settings import Settings
from talktrack.telephony.telnyx_stream import encode_client_state
from talktrack.telephony.twilio_rest import check_number

API_BASE_URL = "https://api.telnyx.com"
STREAM_PATH = "/telephony/telnyx/stream"
WEBHOOK_PATH = "/telephony/telnyx/webhook"
# Answering-machine detection modes Telnyx offers on dial, passed through unchanged.
MACHINE_DETECTION = ("detect", "detect_beep", "detect_words", "greeting_end", "premium")
# Telnyx's code for a command on a call that has already hung up.
_CALL_ENDED = "90018"
_DTMF = re.compile(r"^[0-9A-D*#wW]+$")
_STREAM = {
    "stream_track": "inbound_track",
    "stream_bidirectional_mode": "rtp",
    "stream_bidirectional_codec": "PCMU",
    # The caller's audio in PCMU too (Telnyx transcodes from PCMA); PCMU is 8 kHz by definition.
    "stream_codec": "PCMU",
}
_KEY_FIX = "set TALKTRACK_TELNYX_API_KEY to a v2 API key from the Telnyx portal (Auth > API Keys)"


def stream_url(public_url: str) -> str:
    """Our Telnyx media-stream WebSocket as Telnyx reaches it (``https://`` becomes ``wss://``)."""
    base = public_url.rstrip("/")
    return re.sub(r"^http", "ws", base, count=1) + STREAM_PATH


def check_digits(digits: str) -> str:
    """DTMF keys Telnyx can send: 0-9, A-D, * and #, with ``w`` (0.5 s) and ``W`` (1 s) pauses."""
    if not _DTMF.match(digits):
        raise TalkTrackError(f"DTMF digits {digits!r} are not valid", fix="use 0-9, *, #, A-D, and w or W to pause")
    return digits


class CallControl:
    """One Telnyx account's Call Control commands; owns an HTTP connection pool (``aclose`` it)."""

    def __init__(self, api_key: str, *, base_url: str | None = None, timeout_s: float = 10.0) -> None:
        self.base_url = (base_url or API_BASE_URL).rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout_s,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> CallControl:
        """Commands with the settings' API key and base URL; ConfigError when the key is missing."""
        api_key = settings.telnyx_api_key
        if not api_key:
            raise ConfigError("Telnyx calls need TALKTRACK_TELNYX_API_KEY", fix=_KEY_FIX)
        return cls(api_key, base_url=settings.telnyx_api_base_url)

    async def __aenter__(self) -> CallControl:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def dial(
        self,
        *,
        connection_id: str,
        to: str,
        from_: str,
        stream_to: str,
        parameters: Mapping[str, str],
        webhook_url: str | None = None,
        machine_detection: str | None = None,
    ) -> str:
        """``POST /v2/calls``: ring ``to``; answered, it streams to ``stream_to``. Returns the call_control_id."""
        if machine_detection is not None and machine_detection not in MACHINE_DETECTION:
            modes = ", ".join(MACHINE_DETECTION)
            raise ConfigError(f"machine detection {machine_detection!r} is unknown", fix=f"use one of {modes}")
        body: dict[str, Any] = {
            "connection_id": connection_id,
            "to": check_number(to),
            "from": check_number(from_, "TALKTRACK_TELNYX_FROM_NUMBER"),
            "stream_url": stream_to,
            **_STREAM,
            "client_state": encode_client_state(parameters),
        }
        if webhook_url:
            body["webhook_url"] = webhook_url
            body["webhook_url_method"] = "POST"
        if machine_detection:
            body["answering_machine_detection"] = machine_detection
        data = await self._post("/v2/calls", body, doing=f"dial {body['to']}")
        call_control_id = data.get("call_control_id")
        if not isinstance(call_control_id, str) or not call_control_id:
            raise TalkTrackError("Telnyx accepted the call but sent no call_control_id", fix="check the API base URL")
        return call_control_id

    async def answer(
        self, call_control_id: str, stream_to: str, parameters: Mapping[str, str], *, webhook_url: str | None = None
    ) -> None:
        """Answer a ringing inbound call and stream it to ``stream_to`` with ``parameters``."""
        body: dict[str, Any] = {"stream_url": stream_to, **_STREAM, "client_state": encode_client_state(parameters)}
        if webhook_url:
            body["webhook_url"] = webhook_url
            body["webhook_url_method"] = "POST"
        await self._post(_action(call_control_id, "answer"), body, doing="answer the call")

    async def hangup(self, call_control_id: str) -> None:
        """Hang up; a call that has already ended is not an error."""
        try:
            await self._post(_action(call_control_id, "hangup"), {}, doing="hang up")
        except _CallEnded:
            return

    async def send_dtmf(self, call_control_id: str, digits: str, *, duration_ms: int | None = None) -> None:
        """Send keys on the call (``w``/``W`` pause 0.5 s/1 s); each key lasts ``duration_ms`` (100–500)."""
        body: dict[str, Any] = {"digits": check_digits(digits)}
        if duration_ms is not None:
            if not 100 <= duration_ms <= 500:
                raise TalkTrackError(f"DTMF duration {duration_ms} ms is out of range", fix="use 100 to 500 ms")
            body["duration_millis"] = duration_ms
        await self._post(_action(call_control_id, "send_dtmf"), body, doing="send DTMF")

    async def _post(self, path: str, body: Mapping[str, Any], *, doing: str) -> Mapping[str, Any]:
        try:
            response = await self._http.post(path, json=body)
        except httpx.TransportError as exc:
            raise TalkTrackError(
                f"cannot reach Telnyx at {self.base_url} to {doing} ({exc.__class__.__name__}: {exc})",
                fix="check the network connection, or TALKTRACK_TELNYX_API_BASE_URL if you set it",
            ) from exc
        if response.is_success:
            return _data(response)
        raise _refusal(response, doing)


async def place_call(
    settings: Settings,
    *,
    to: str,
    agent_id: str,
    context: Mapping[str, str] | None = None,
    machine_detection: str | None = None,
) -> str:
    """Ask Telnyx to dial ``to``; when answered it streams to our agent. Returns the call_control_id."""
    names = {
        "telnyx_api_key": "TALKTRACK_TELNYX_API_KEY",
        "telnyx_connection_id": "TALKTRACK_TELNYX_CONNECTION_ID",
        "telnyx_from_number": "TALKTRACK_TELNYX_FROM_NUMBER",
        "public_url": "TALKTRACK_PUBLIC_URL",
    }
    missing = [env for name, env in names.items() if not getattr(settings, name)]
    if missing:
        raise ConfigError(f"outbound Telnyx calls need {', '.join(missing)}", fix="set them in the environment or .env")
    public_url = settings.public_url or ""
    async with CallControl.from_settings(settings) as control:
        return await control.dial(
            connection_id=settings.telnyx_connection_id or "",
            to=to,
            from_=settings.telnyx_from_number or "",
            stream_to=stream_url(public_url),
            parameters={"agent_id": agent_id, **(context or {})},
            webhook_url=public_url.rstrip("/") + WEBHOOK_PATH,
            machine_detection=machine_detection,
        )


class _CallEnded(TalkTrackError):
    """A command on a call that has already hung up."""


def _action(call_control_id: str, action: str) -> str:
    if not call_control_id:
        raise TalkTrackError("a Telnyx command needs the call's call_control_id", fix="pass the id from the webhook")
    return f"/v2/calls/{quote(call_control_id, safe='')}/actions/{action}"


def _data(response: httpx.Response) -> Mapping[str, Any]:
    """The ``data`` object of a success response (empty when the body has none)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def _first_error(response: httpx.Response) -> tuple[str, str]:
    """(code, sentence) of Telnyx's first error object, or ("", the body's start)."""
    try:
        errors = response.json().get("errors")
        first = errors[0]
        parts = [str(first.get(k) or "") for k in ("title", "detail")]
        pointer = (first.get("source") or {}).get("pointer")
        sentence = ": ".join(p for p in parts if p) + (f" (at {pointer})" if pointer else "")
        return str(first.get("code") or ""), sentence
    except (ValueError, AttributeError, TypeError, IndexError, KeyError):
        return "", response.text[:200]


def _refusal(response: httpx.Response, doing: str) -> TalkTrackError:
    code, sentence = _first_error(response)
    status = response.status_code
    if status in (401, 403):
        return TalkTrackError(f"Telnyx rejected the API key ({status}) trying to {doing}: {sentence}", fix=_KEY_FIX)
    if status == 422 and code == _CALL_ENDED:
        return _CallEnded(f"the call has already ended; could not {doing}")
    if status == 422:
        return TalkTrackError(
            f"Telnyx refused to {doing} (422): {sentence}",
            fix="check the numbers are E.164 and the connection id is a Call Control application of this account",
        )
    if status == 404:
        return TalkTrackError(
            f"Telnyx does not know that call or path (404) when trying to {doing}: {sentence}",
            fix="use the call_control_id from this call's webhooks, and the API base URL without /v2",
        )
    return TalkTrackError(f"Telnyx failed to {doing} ({status}): {sentence}", fix="try again; see status.telnyx.com")
