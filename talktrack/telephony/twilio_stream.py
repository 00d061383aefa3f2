"""Twilio Media Streams messages, sans-I/O: JSON text in, typed events out, and back.

Wire facts kept here: ``sequenceNumber``, ``chunk`` and ``timestamp`` are strings; ``connected``
has no ``streamSid``; a ``dtmf`` event's track is ``inbound_track`` while ``media.track`` is
``inbound``; custom data arrives as ``start.customParameters`` (from ``<Parameter>``). Audio is
base64 μ-law at 8 kHz, mono, without headers. Every malformed message raises
:class:`ProtocolError` naming what is wrong, so the transport can log it and carry on.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class ProtocolError(ValueError):
    """A message that is not valid Twilio Media Streams JSON."""


@dataclass(frozen=True)
class Connected:
    """First message of a stream."""

    protocol: str
    version: str


@dataclass(frozen=True)
class Start:
    """Stream metadata, with the ``<Parameter>`` values of the TwiML."""

    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: tuple[str, ...]
    encoding: str
    sample_rate: int
    channels: int
    custom_parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Media:
    """20 ms (typically) of the caller's audio."""

    stream_sid: str
    track: str
    chunk: int
    timestamp_ms: int
    payload: bytes


@dataclass(frozen=True)
class Dtmf:
    """A key the caller pressed."""

    stream_sid: str
    digit: str
    track: str


@dataclass(frozen=True)
class Mark:
    """Twilio has played everything sent before the mark of this name (or dropped it on clear)."""

    stream_sid: str
    name: str


@dataclass(frozen=True)
class Stop:
    """The stream ended (the call hung up or the stream was stopped)."""

    stream_sid: str
    call_sid: str
    account_sid: str


Event = Connected | Start | Media | Dtmf | Mark | Stop


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ProtocolError(f"'{key}' must be an object")
    return value


def _str(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        if default is not None and value is None:
            return default
        raise ProtocolError(f"'{key}' must be a string")
    return value


def _int_str(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    # Twilio sends these counters as strings; accept plain integers too.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProtocolError(f"'{key}' must be a number in a string")
    try:
        return int(value)
    except ValueError:
        raise ProtocolError(f"'{key}' must be a number in a string, got {value!r}") from None


def _connected(msg: Mapping[str, Any]) -> Connected:
    return Connected(protocol=_str(msg, "protocol", ""), version=_str(msg, "version", ""))


def _start(msg: Mapping[str, Any]) -> Start:
    start = _obj(msg, "start")
    fmt = _obj(start, "mediaFormat")
    params = start.get("customParameters") or {}
    if not isinstance(params, Mapping):
        raise ProtocolError("'customParameters' must be an object")
    tracks = start.get("tracks", ["inbound"])
    if not isinstance(tracks, list) or not all(isinstance(t, str) for t in tracks):
        raise ProtocolError("'tracks' must be a list of strings")
    rate = fmt.get("sampleRate")
    channels = fmt.get("channels", 1)
    if not isinstance(rate, int) or not isinstance(channels, int):
        raise ProtocolError("'mediaFormat.sampleRate' and 'channels' must be integers")
    return Start(
        stream_sid=_str(start, "streamSid", _str(msg, "streamSid", "")),
        call_sid=_str(start, "callSid", ""),
        account_sid=_str(start, "accountSid", ""),
        tracks=tuple(tracks),
        encoding=_str(fmt, "encoding"),
        sample_rate=rate,
        channels=channels,
        custom_parameters={str(k): str(v) for k, v in params.items()},
    )


def _media(msg: Mapping[str, Any]) -> Media:
    media = _obj(msg, "media")
    try:
        payload = base64.b64decode(_str(media, "payload"), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("'media.payload' is not valid base64") from None
    return Media(
        stream_sid=_str(msg, "streamSid", ""),
        track=_str(media, "track", "inbound"),
        chunk=_int_str(media, "chunk") if "chunk" in media else 0,
        timestamp_ms=_int_str(media, "timestamp") if "timestamp" in media else 0,
        payload=payload,
    )


def _dtmf(msg: Mapping[str, Any]) -> Dtmf:
    dtmf = _obj(msg, "dtmf")
    digit = _str(dtmf, "digit")
    if len(digit) != 1 or digit not in "0123456789*#ABCD":
        raise ProtocolError(f"'dtmf.digit' must be one key, got {digit!r}")
    return Dtmf(stream_sid=_str(msg, "streamSid", ""), digit=digit, track=_str(dtmf, "track", "inbound_track"))


def _mark(msg: Mapping[str, Any]) -> Mark:
    return Mark(stream_sid=_str(msg, "streamSid", ""), name=_str(_obj(msg, "mark"), "name"))


def _stop(msg: Mapping[str, Any]) -> Stop:
    stop = msg.get("stop") or {}
    if not isinstance(stop, Mapping):
        raise ProtocolError("'stop' must be an object")
    return Stop(
        stream_sid=_str(msg, "streamSid", ""),
        call_sid=_str(stop, "callSid", ""),
        account_sid=_str(stop, "accountSid", ""),
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any]], Event]] = {
    "connected": _connected,
    "start": _start,
    "media": _media,
    "dtmf": _dtmf,
    "mark": _mark,
    "stop": _stop,
}


def parse(text: str | bytes) -> Event:
    """One WebSocket text message from Twilio → its event."""
    try:
        msg = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("not JSON") from None
    if not isinstance(msg, Mapping):
        raise ProtocolError("a message must be a JSON object")
    event = msg.get("event")
    parser = _PARSERS.get(event) if isinstance(event, str) else None
    if parser is None:
        raise ProtocolError(f"unknown event {event!r}")
    return parser(msg)


# -- what we send to Twilio -------------------------------------------------------------------


def media(stream_sid: str, payload: bytes) -> str:
    """Outbound audio (μ-law bytes) for the caller to hear."""
    encoded = base64.b64encode(payload).decode("ascii")
    return json.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": encoded}})


def mark(stream_sid: str, name: str) -> str:
    """Ask Twilio to tell us when everything sent so far has played."""
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear(stream_sid: str) -> str:
    """Drop the audio Twilio has buffered but not played (barge-in)."""
    return json.dumps({"event": "clear", "streamSid": stream_sid})


# -- what an agent sends (read by the Twilio-side simulator) ---------------------------------------


def parse_outbound(text: str) -> tuple[str, bytes | str | None]:
    """One message an agent sends to Twilio → (``media``, audio) | (``mark``, name) | (``clear``, None)."""
    try:
        msg = json.loads(text)
    except ValueError:
        raise ProtocolError("not JSON") from None
    if not isinstance(msg, Mapping):
        raise ProtocolError("a message must be a JSON object")
    event = msg.get("event")
    if event == "media":
        media = _obj(msg, "media")
        try:
            return "media", base64.b64decode(_str(media, "payload"), validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("'media.payload' is not valid base64") from None
    if event == "mark":
        return "mark", _str(_obj(msg, "mark"), "name")
    if event == "clear":
        return "clear", None
    raise ProtocolError(f"unknown event {event!r}")
