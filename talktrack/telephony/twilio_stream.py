"""Twilio Media Streams messages, sans-I/O.

Wire facts kept here: ``sequenceNumber``, ``chunk`` and ``timestamp`` are strings; ``connected``
has no ``streamSid``; a ``dtmf`` event's track is ``inbound_track`` while ``media.track`` is
``inbound``; custom data arrives as ``start.customParameters`` (from ``<Parameter>``). Audio is
base64 μ-law at 8 kHz, mono, without headers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from talktrack.telephony.media_stream import (
    Connected,
    Dtmf,
    Event,
    Mark,
    Media,
    ProtocolError,
    Start,
    Stop,
    b64decode,
    b64encode,
    counter,
    digit,
    dispatch,
    maybe_obj,
    obj,
    parameters,
    parse_agent_message,
    text,
)

NAME = "twilio"
_ENCODINGS = {"audio/x-mulaw": "ulaw"}


def _start(msg: Mapping[str, Any]) -> Start:
    start = obj(msg, "start")
    fmt = obj(start, "mediaFormat")
    rate, channels = fmt.get("sampleRate"), fmt.get("channels", 1)
    if not isinstance(rate, int) or not isinstance(channels, int):
        raise ProtocolError("'mediaFormat.sampleRate' and 'channels' must be integers")
    encoding = text(fmt, "encoding")
    return Start(
        stream_id=text(start, "streamSid", text(msg, "streamSid", "")),
        call_id=text(start, "callSid", ""),
        encoding=_ENCODINGS.get(encoding, encoding),
        sample_rate=rate,
        channels=channels,
        parameters=parameters(start.get("customParameters"), "customParameters"),
    )


def _media(msg: Mapping[str, Any]) -> Media:
    media = obj(msg, "media")
    return Media(
        stream_id=text(msg, "streamSid", ""),
        chunk=counter(media, "chunk"),
        timestamp_ms=counter(media, "timestamp"),
        payload=b64decode(text(media, "payload"), "media.payload"),
        track=text(media, "track", "inbound"),
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any]], Event]] = {
    "connected": lambda m: Connected(version=text(m, "version", "")),
    "start": _start,
    "media": _media,
    "dtmf": lambda m: Dtmf(stream_id=text(m, "streamSid", ""), digit=digit(text(obj(m, "dtmf"), "digit"))),
    "mark": lambda m: Mark(stream_id=text(m, "streamSid", ""), name=text(obj(m, "mark"), "name")),
    "stop": lambda m: Stop(stream_id=text(m, "streamSid", ""), call_id=text(maybe_obj(m, "stop"), "callSid", "")),
}


def parse(data: str | bytes) -> Event:
    """One WebSocket text message from Twilio → its event."""
    return dispatch(data, _PARSERS)


# -- what an agent sends -------------------------------------------------------------------------


def media(stream_id: str, payload: bytes) -> str:
    """Outbound audio (μ-law bytes) for the caller to hear."""
    return json.dumps({"event": "media", "streamSid": stream_id, "media": {"payload": b64encode(payload)}})


def mark(stream_id: str, name: str) -> str:
    """Ask Twilio to tell us when everything sent so far has played."""
    return json.dumps({"event": "mark", "streamSid": stream_id, "mark": {"name": name}})


def clear(stream_id: str) -> str:
    """Drop the audio Twilio has buffered but not played (barge-in)."""
    return json.dumps({"event": "clear", "streamSid": stream_id})


# What agents send has the same shape for both carriers.
parse_outbound = parse_agent_message


# -- what Twilio sends (for the Twilio-side simulator) ----------------------------------------------

_ACCOUNT = "AC" + "0" * 32


def carrier_connected() -> str:
    """Twilio's first message."""
    return json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def carrier_start(stream_id: str, call_id: str, seq: int, parameters: Mapping[str, str]) -> str:
    """Twilio's ``start`` for a bidirectional μ-law stream."""
    start = {
        "accountSid": _ACCOUNT,
        "streamSid": stream_id,
        "callSid": call_id,
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": dict(parameters),
    }
    return json.dumps({"event": "start", "sequenceNumber": str(seq), "streamSid": stream_id, "start": start})


def carrier_media(stream_id: str, seq: int, chunk: int, timestamp_ms: int, payload: bytes) -> str:
    """The caller's audio as Twilio sends it."""
    body = {"track": "inbound", "chunk": str(chunk), "timestamp": str(timestamp_ms), "payload": b64encode(payload)}
    return json.dumps({"event": "media", "sequenceNumber": str(seq), "streamSid": stream_id, "media": body})


def carrier_mark(stream_id: str, seq: int, name: str) -> str:
    """Twilio's answer to a mark."""
    return json.dumps({"event": "mark", "sequenceNumber": str(seq), "streamSid": stream_id, "mark": {"name": name}})


def carrier_stop(stream_id: str, call_id: str, seq: int) -> str:
    """Twilio's last message."""
    stop = {"accountSid": _ACCOUNT, "callSid": call_id}
    return json.dumps({"event": "stop", "sequenceNumber": str(seq), "streamSid": stream_id, "stop": stop})


# Keys the agent presses: Twilio's bidirectional streams accept only ``media``, ``mark`` and ``clear``
# from us; there is no message that sends DTMF (ConversationRelay's ``sendDigits`` is another product,
# and updating the call's TwiML with ``<Play digits>`` would end the ``<Connect><Stream>``). So
# StreamLine sends keys in-band, as tones in the μ-law audio, which G.711 carries intact.
