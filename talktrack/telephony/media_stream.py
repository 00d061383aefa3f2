"""Carrier media streams (Twilio, Telnyx): the events every dialect parses into, and the dialect interface.

Each dialect module (``twilio_stream``, ``telnyx_stream``) is sans-I/O: text in, events out; and the
messages an agent sends (``media``/``mark``/``clear``) plus the ones the carrier sends, for the
carrier-side simulator. Audio on the line is always 8 kHz G.711; ``Start.encoding`` says which law.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class ProtocolError(ValueError):
    """A message that is not valid for the stream's protocol."""


@dataclass(frozen=True)
class Connected:
    """First message of a stream."""

    version: str


@dataclass(frozen=True)
class Start:
    """Stream metadata, with the custom parameters the call was set up with."""

    stream_id: str
    call_id: str
    encoding: str  # "ulaw" | "alaw"
    sample_rate: int
    channels: int
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Media:
    """A chunk of the caller's audio."""

    stream_id: str
    chunk: int
    timestamp_ms: int
    payload: bytes
    track: str = "inbound"


@dataclass(frozen=True)
class Dtmf:
    """A key the caller pressed."""

    stream_id: str
    digit: str


@dataclass(frozen=True)
class Mark:
    """The carrier has played everything sent before this mark (or dropped it on clear)."""

    stream_id: str
    name: str


@dataclass(frozen=True)
class Stop:
    """The stream ended."""

    stream_id: str
    call_id: str


Event = Connected | Start | Media | Dtmf | Mark | Stop
Outbound = tuple[str, bytes | str | None]  # ("media", audio) | ("mark", name) | ("clear", None)


class Dialect(Protocol):
    """What a carrier module provides (modules satisfy this protocol)."""

    NAME: str

    def parse(self, text: str | bytes) -> Event: ...
    def media(self, stream_id: str, payload: bytes) -> str: ...
    def mark(self, stream_id: str, name: str) -> str: ...
    def clear(self, stream_id: str) -> str: ...
    def parse_outbound(self, text: str) -> Outbound: ...
    def carrier_connected(self) -> str: ...
    def carrier_start(self, stream_id: str, call_id: str, seq: int, parameters: Mapping[str, str]) -> str: ...
    def carrier_media(self, stream_id: str, seq: int, chunk: int, timestamp_ms: int, payload: bytes) -> str: ...
    def carrier_mark(self, stream_id: str, seq: int, name: str) -> str: ...
    def carrier_stop(self, stream_id: str, call_id: str, seq: int) -> str: ...


# -- field readers shared by the dialects ---------------------------------------------------------


def obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``data[key]`` as an object, or ProtocolError."""
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ProtocolError(f"'{key}' must be an object")
    return value


def text(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    """``data[key]`` as a string (``default`` when absent), or ProtocolError."""
    value = data.get(key, default)
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise ProtocolError(f"'{key}' must be a string")
    return value


def counter(data: Mapping[str, Any], key: str) -> int:
    """A counter the carriers send as a string of digits (plain integers accepted), or 0 when absent."""
    if key not in data:
        return 0
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProtocolError(f"'{key}' must be a number in a string")
    try:
        return int(value)
    except ValueError:
        raise ProtocolError(f"'{key}' must be a number in a string, got {value!r}") from None


def parameters(value: Any, key: str) -> dict[str, str]:
    """Custom parameters: an object of strings (values are stringified)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ProtocolError(f"'{key}' must be an object")
    return {str(k): str(v) for k, v in value.items()}


def digit(value: str) -> str:
    """One DTMF key."""
    if len(value) != 1 or value not in "0123456789*#ABCD":
        raise ProtocolError(f"'dtmf.digit' must be one key, got {value!r}")
    return value


def dispatch(data: str | bytes, parsers: Mapping[str, Callable[[Mapping[str, Any]], Event]]) -> Event:
    """Parse a message with the parser its ``event`` names."""
    msg = load_json(data)
    event = msg.get("event")
    parser = parsers.get(event) if isinstance(event, str) else None
    if parser is None:
        raise ProtocolError(f"unknown event {event!r}")
    return parser(msg)


def parse_agent_message(data: str) -> Outbound:
    """What an agent sends (the same shape for both carriers): media, mark or clear."""
    msg = load_json(data)
    event = msg.get("event")
    if event == "media":
        return "media", b64decode(text(obj(msg, "media"), "payload"), "media.payload")
    if event == "mark":
        return "mark", text(obj(msg, "mark"), "name")
    if event == "clear":
        return "clear", None
    raise ProtocolError(f"unknown event {event!r}")


def load_json(data: str | bytes) -> Mapping[str, Any]:
    """A message as a JSON object, or ProtocolError."""
    try:
        msg = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("not JSON") from None
    if not isinstance(msg, Mapping):
        raise ProtocolError("a message must be a JSON object")
    return msg


def maybe_obj(msg: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``msg[key]`` as an object, empty when absent or null."""
    return obj(msg, key) if msg.get(key) is not None else {}


def b64decode(value: str, where: str) -> bytes:
    """Base64 audio, or ProtocolError naming the field."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"'{where}' is not valid base64") from None


def b64encode(payload: bytes) -> str:
    """Audio as base64 text."""
    return base64.b64encode(payload).decode("ascii")
