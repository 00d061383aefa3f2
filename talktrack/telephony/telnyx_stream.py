"""Telnyx media-streaming messages, sans-I/O (bidirectional RTP mode).

The same shape as Twilio's in snake_case: ``sequence_number``, ``stream_id``,
``start.media_format`` (``PCMU`` or ``PCMA``), ``start.call_control_id`` and ``custom_parameters``.
Frame order is not guaranteed: ``media.chunk`` says where a frame belongs (the line reorders).
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

NAME = "telnyx"
_ENCODINGS = {"PCMU": "ulaw", "PCMA": "alaw"}


def _start(msg: Mapping[str, Any]) -> Start:
    start = obj(msg, "start")
    fmt = obj(start, "media_format")
    rate, channels = fmt.get("sample_rate"), fmt.get("channels", 1)
    if not isinstance(rate, int) or not isinstance(channels, int):
        raise ProtocolError("'media_format.sample_rate' and 'channels' must be integers")
    encoding = text(fmt, "encoding")
    return Start(
        stream_id=text(msg, "stream_id", ""),
        call_id=text(start, "call_control_id", ""),
        encoding=_ENCODINGS.get(encoding, encoding),
        sample_rate=rate,
        channels=channels,
        parameters=start_parameters(start),
    )


def _media(msg: Mapping[str, Any]) -> Media:
    media = obj(msg, "media")
    return Media(
        stream_id=text(msg, "stream_id", ""),
        chunk=counter(media, "chunk"),
        timestamp_ms=counter(media, "timestamp"),
        payload=b64decode(text(media, "payload"), "media.payload"),
        track=text(media, "track", "inbound"),
    )


def _error(msg: Mapping[str, Any]) -> Event:
    payload = maybe_obj(msg, "payload")
    raise ProtocolError(f"Telnyx reported an error: {payload.get('title', '')} {payload.get('detail', '')}".strip())


_PARSERS: dict[str, Callable[[Mapping[str, Any]], Event]] = {
    "connected": lambda m: Connected(version=text(m, "version", "")),
    "start": _start,
    "media": _media,
    "dtmf": lambda m: Dtmf(stream_id=text(m, "stream_id", ""), digit=digit(text(obj(m, "dtmf"), "digit"))),
    "mark": lambda m: Mark(stream_id=text(m, "stream_id", ""), name=text(obj(m, "mark"), "name")),
    "stop": lambda m: Stop(
        stream_id=text(m, "stream_id", ""), call_id=text(maybe_obj(m, "stop"), "call_control_id", "")
    ),
    "error": _error,
}


def parse(data: str | bytes) -> Event:
    """One WebSocket text message from Telnyx → its event."""
    return dispatch(data, _PARSERS)


# -- what an agent sends -------------------------------------------------------------------------


def media(stream_id: str, payload: bytes) -> str:
    """Outbound RTP payload (G.711 bytes) for the caller to hear."""
    return json.dumps({"event": "media", "media": {"payload": b64encode(payload)}})


def mark(stream_id: str, name: str) -> str:
    """Ask Telnyx to tell us when everything sent so far has played."""
    return json.dumps({"event": "mark", "mark": {"name": name}})


def clear(stream_id: str) -> str:
    """Drop the audio Telnyx has queued but not played (barge-in)."""
    return json.dumps({"event": "clear"})


# What agents send has the same shape for both carriers.
parse_outbound = parse_agent_message


# -- what Telnyx sends (for the Telnyx-side simulator) ----------------------------------------------


def carrier_connected() -> str:
    """Telnyx's first message."""
    return json.dumps({"event": "connected", "version": "1.0.0"})


def carrier_start(stream_id: str, call_id: str, seq: int, parameters: Mapping[str, str]) -> str:
    """Telnyx's ``start`` for a PCMU stream."""
    start = {
        "user_id": "00000000-0000-0000-0000-000000000000",
        "call_control_id": call_id,
        "client_state": None,
        "custom_parameters": dict(parameters),
        "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1},
    }
    return json.dumps({"event": "start", "sequence_number": str(seq), "stream_id": stream_id, "start": start})


def carrier_media(stream_id: str, seq: int, chunk: int, timestamp_ms: int, payload: bytes) -> str:
    """The caller's audio as Telnyx sends it."""
    body = {"track": "inbound", "chunk": str(chunk), "timestamp": str(timestamp_ms), "payload": b64encode(payload)}
    return json.dumps({"event": "media", "sequence_number": str(seq), "stream_id": stream_id, "media": body})


def carrier_mark(stream_id: str, seq: int, name: str) -> str:
    """Telnyx's answer to a mark."""
    return json.dumps({"event": "mark", "sequence_number": str(seq), "stream_id": stream_id, "mark": {"name": name}})


def carrier_stop(stream_id: str, call_id: str, seq: int) -> str:
    """Telnyx's last message."""
    stop = {"user_id": "00000000-0000-0000-0000-000000000000", "call_control_id": call_id}
    return json.dumps({"event": "stop", "sequence_number": str(seq), "stream_id": stream_id, "stop": stop})


# -- custom data for Call Control calls ----------------------------------------------------------
# Dial and answer cannot set ``custom_parameters`` (only ``streaming_start`` can); what they can set
# is ``client_state``, which Telnyx echoes in the stream's ``start`` and in every webhook of the call.
# We carry the stream parameters there as base64 JSON.

def encode_client_state(parameters: Mapping[str, str]) -> str:
    """Stream parameters as a ``client_state`` value: base64 of a compact JSON object."""
    text = json.dumps(dict(parameters), separators=(",", ":"), sort_keys=True)
    # Standard base64 without line breaks: Telnyx cuts client_state at the first newline.
    return b64encode(text.encode("utf-8"))


def client_state_parameters(value: object) -> dict[str, str]:
    """The parameters in a ``client_state`` we wrote; empty for none or one another application set."""
    if not isinstance(value, str) or not value:
        return {}
    try:
        decoded = json.loads(b64decode(value, "client_state").decode("utf-8"))
    except (ProtocolError, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
        return {}
    return {str(k): v for k, v in decoded.items()}


def start_parameters(start: Mapping[str, Any]) -> dict[str, str]:
    """All custom data of a ``start`` object: ``client_state`` parameters, then ``custom_parameters`` over them."""
    return {
        **client_state_parameters(start.get("client_state")),
        **parameters(start.get("custom_parameters"), "custom_parameters"),
    }
