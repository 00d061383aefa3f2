"""Telnyx Call Control webhooks, sans-I/O: the ed25519 signature check and the event envelope.

Telnyx signs ``f"{telnyx-timestamp}|{raw body}"`` with its ed25519 key and sends the signature,
base64, in ``telnyx-signature-ed25519``; the account's public key (base64, from the portal) checks it.
A timestamp more than five minutes off is refused, so a captured request cannot be replayed later.
The body is ``{"data": {"event_type", "id", "occurred_at", "payload": {...}}, "meta": {...}}``;
``parse`` turns it into one frozen event per type, and an event type we do not know into a plain
``CallEvent`` (Telnyx adds event types; they are not errors).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from talktrack.errors import ConfigError
from talktrack.telephony.media_stream import ProtocolError
from talktrack.telephony.telnyx_stream import client_state_parameters

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
TOLERANCE_S = 300  # what Telnyx's own SDKs allow between the timestamp and our clock


class WebhookError(ProtocolError):
    """A request that is not a Telnyx webhook event."""


class SignatureError(WebhookError):
    """A webhook whose signature is missing, malformed, forged or too old."""


# -- signature ------------------------------------------------------------------------------------


def public_key(value: str) -> Ed25519PublicKey:
    """The account's public key from its base64 text (raw 32 bytes, or DER); ConfigError otherwise."""
    fix = "copy the public key from the Telnyx portal (Keys & Credentials) into TALKTRACK_TELNYX_PUBLIC_KEY"
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        if len(raw) == 32:
            return Ed25519PublicKey.from_public_bytes(raw)
        key = load_der_public_key(raw)
    except (binascii.Error, ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError("the Telnyx public key is not a base64 ed25519 key", fix=fix) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError("the Telnyx public key is not an ed25519 key", fix=fix)
    return key


def verify(
    body: bytes, headers: Mapping[str, str], key: Ed25519PublicKey, *, now: float, tolerance_s: float = TOLERANCE_S
) -> None:
    """Check a webhook's signature and freshness; SignatureError says what is wrong."""
    lowered = {k.lower(): v for k, v in headers.items()}
    signature, timestamp = lowered.get(SIGNATURE_HEADER), lowered.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise SignatureError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError(f"{TIMESTAMP_HEADER} {timestamp[:20]!r} is not a Unix time")
    if abs(now - int(timestamp)) > tolerance_s:
        raise SignatureError(f"{TIMESTAMP_HEADER} is {int(now) - int(timestamp)} s off our clock (replay?)")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{SIGNATURE_HEADER} is not base64") from None
    if len(raw) != 64:
        raise SignatureError(f"{SIGNATURE_HEADER} is {len(raw)} bytes, not an ed25519 signature")
    try:
        key.verify(raw, timestamp.encode("ascii") + b"|" + body)
    except InvalidSignature:
        raise SignatureError("the signature does not match the body") from None


def sign(body: bytes, timestamp: int, key: Ed25519PrivateKey) -> dict[str, str]:
    """The signature headers Telnyx would send with ``body`` (for the carrier-side simulator)."""
    signature = key.sign(str(timestamp).encode("ascii") + b"|" + body)
    return {SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"), TIMESTAMP_HEADER: str(timestamp)}


# -- events ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CallEvent:
    """A webhook about a call; event types without their own class arrive as this."""

    event_id: str
    event_type: str
    occurred_at: datetime | None
    call_control_id: str
    call_session_id: str
    # The parameters we put in client_state when we dialled or answered (empty for others' calls).
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CallInitiated(CallEvent):
    """A call began: ``incoming`` rings at our number (answer it), ``outgoing`` is one we dialled."""

    direction: str
    from_number: str
    to_number: str


@dataclass(frozen=True, kw_only=True)
class CallAnswered(CallEvent):
    """The far end picked up."""


@dataclass(frozen=True, kw_only=True)
class CallHangup(CallEvent):
    """The call ended: ``hangup_cause`` like ``normal_clearing``, ``user_busy``, ``timeout``, ``call_rejected``."""

    hangup_cause: str
    hangup_source: str
    sip_hangup_cause: str


@dataclass(frozen=True, kw_only=True)
class MachineDetection(CallEvent):
    """Answering-machine detection ended: ``human``, ``machine``, ``not_sure`` (premium: ``human_residence``...)."""

    result: str


@dataclass(frozen=True, kw_only=True)
class GreetingEnded(CallEvent):
    """A machine's greeting ended: ``beep_detected``, ``ended`` or ``not_sure``."""

    result: str


@dataclass(frozen=True, kw_only=True)
class Streaming(CallEvent):
    """The media stream ``started``, ``stopped`` or ``failed`` (then ``reason`` says why)."""

    state: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DtmfReceived(CallEvent):
    """The far end pressed a key (Call Control's own detection, besides the stream's ``dtmf``)."""

    digit: str


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WebhookError(f"'{key}' must be a string")
    return value


def _sip_cause(data: Mapping[str, Any]) -> str:
    # Documented as a string ("486", or "unspecified"); a bare number is read the same way.
    value = data.get("sip_hangup_cause")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(data, "sip_hangup_cause")


def _digit(data: Mapping[str, Any]) -> str:
    value = _text(data, "digit")
    if len(value) != 1 or value not in "0123456789*#ABCD":
        raise WebhookError(f"'digit' must be one key, got {value[:10]!r}")
    return value


_Fields = Callable[[Mapping[str, Any]], dict[str, Any]]
_PARSERS: dict[str, tuple[type[CallEvent], _Fields]] = {
    "call.initiated": (
        CallInitiated,
        lambda p: {"direction": _text(p, "direction"), "from_number": _text(p, "from"), "to_number": _text(p, "to")},
    ),
    "call.answered": (CallAnswered, lambda p: {}),
    "call.hangup": (
        CallHangup,
        lambda p: {
            "hangup_cause": _text(p, "hangup_cause"),
            "hangup_source": _text(p, "hangup_source"),
            "sip_hangup_cause": _sip_cause(p),
        },
    ),
    "call.machine.detection.ended": (MachineDetection, lambda p: {"result": _text(p, "result")}),
    "call.machine.premium.detection.ended": (MachineDetection, lambda p: {"result": _text(p, "result")}),
    "call.machine.greeting.ended": (GreetingEnded, lambda p: {"result": _text(p, "result")}),
    "call.machine.premium.greeting.ended": (GreetingEnded, lambda p: {"result": _text(p, "result")}),
    "streaming.started": (Streaming, lambda p: {"state": "started", "reason": ""}),
    "streaming.stopped": (Streaming, lambda p: {"state": "stopped", "reason": ""}),
    "streaming.failed": (Streaming, lambda p: {"state": "failed", "reason": _text(p, "failure_reason")}),
    "call.dtmf.received": (DtmfReceived, lambda p: {"digit": _digit(p)}),
}
_OTHER: tuple[type[CallEvent], _Fields] = (CallEvent, lambda p: {})


def _when(value: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise WebhookError(f"'occurred_at' {value[:40]!r} is not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise WebhookError(f"'{key}' must be an object")
    return value


def parse(body: bytes | str) -> CallEvent:
    """A webhook body → its event; WebhookError when it is not a Telnyx event envelope."""
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise WebhookError("the body is not JSON") from None
    if not isinstance(envelope, Mapping):
        raise WebhookError("the body must be a JSON object")
    data = _object(envelope, "data")
    event_type = _text(data, "event_type")
    if not event_type:
        raise WebhookError("'data.event_type' is missing")
    payload = _object(data, "payload") if data.get("payload") is not None else {}
    cls, fields = _PARSERS.get(event_type, _OTHER)
    event: CallEvent = cls(
        event_id=_text(data, "id"),
        event_type=event_type,
        occurred_at=_when(_text(data, "occurred_at")),
        call_control_id=_text(payload, "call_control_id"),
        call_session_id=_text(payload, "call_session_id"),
        parameters=client_state_parameters(payload.get("client_state")),
        **fields(payload),
    )
    return event
