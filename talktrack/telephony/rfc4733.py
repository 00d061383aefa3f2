"""RFC 4733 telephone-events: the 4-byte event payload and a receiver that turns packets into key presses.

A sender repeats each event every ~20 ms with a growing duration, all packets sharing the event's start
timestamp, and ends it with three packets carrying the E bit. The receiver reports a digit on the first
packet it sees of an event, so the agent hears the key at once rather than when it is released.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from talktrack.telephony.rtp import RtpPacket

EVENTS = "0123456789*#ABCD"  # event codes 0–15 (RFC 4733 §3.2)
PAYLOAD_SIZE = 4
_RECENT_EVENTS = 8  # enough to recognise a stray end packet from an earlier press arriving late
_SEGMENT_MIN = 0xFFFF - 1280  # a long event's segments last the 16-bit maximum, give or take a few packets


class DtmfPayloadError(ValueError):
    """Bytes that are not a telephone-event payload, or field values that cannot be encoded."""


@dataclass(frozen=True)
class EventPayload:
    """One telephone-event report: event code, end flag, volume in -dBm0 (0–63), duration in timestamp units."""

    event: int
    end: bool
    volume: int
    duration: int

    def __post_init__(self) -> None:
        for name, value, maximum in (("event", self.event, 0xFF), ("volume", self.volume, 0x3F)):
            if not 0 <= value <= maximum:
                raise DtmfPayloadError(f"telephone-event {name} must be between 0 and {maximum}, got {value}")
        if not 0 <= self.duration <= 0xFFFF:
            raise DtmfPayloadError(f"telephone-event duration must be between 0 and 65535, got {self.duration}")

    @classmethod
    def parse(cls, data: bytes) -> EventPayload:
        """Parse the 4-byte payload; the reserved bit is ignored as the RFC asks."""
        if len(data) != PAYLOAD_SIZE:
            raise DtmfPayloadError(f"telephone-event payload must be 4 bytes, got {len(data)}")
        event, flags, duration = struct.unpack("!BBH", data)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def __bytes__(self) -> bytes:
        return struct.pack("!BBH", self.event, (0x80 if self.end else 0) | self.volume, self.duration)

    @property
    def digit(self) -> str | None:
        """The key for events 0–15, None for other events (flash, tones)."""
        return EVENTS[self.event] if self.event < len(EVENTS) else None


@dataclass
class _Seen:
    timestamp: int
    event: int
    ended: bool


class DtmfReceiver:
    """Telephone-event packets of one stream in, each key press out once.

    Feed it only the packets whose payload type was negotiated as telephone-event. Payloads that do not parse
    are counted in ``malformed`` and skipped, so line junk never stops the call.
    """

    def __init__(self) -> None:
        self._ssrc: int | None = None
        self._recent: deque[_Seen] = deque(maxlen=_RECENT_EVENTS)
        self.malformed = 0

    def push(self, packet: RtpPacket) -> str | None:
        """The digit when this packet starts a new key event, else None."""
        try:
            payload = EventPayload.parse(packet.payload)
        except DtmfPayloadError:
            self.malformed += 1
            return None
        if packet.ssrc != self._ssrc:
            self._ssrc = packet.ssrc
            self._recent.clear()
        for seen in self._recent:
            if seen.timestamp == packet.timestamp:
                seen.ended = seen.ended or payload.end
                return None  # an update, a repeat or an end packet of an event already reported
        previous = self._recent[-1] if self._recent else None
        self._recent.append(_Seen(packet.timestamp, payload.event, payload.end))
        if previous is not None and not packet.marker and self._continues(previous, packet.timestamp, payload):
            return None
        return payload.digit

    @staticmethod
    def _continues(previous: _Seen, timestamp: int, payload: EventPayload) -> bool:
        # An event longer than the 16-bit duration goes on in a new segment with a new timestamp and no
        # marker (RFC 4733 §2.5.2.1); it is the same key press, not a second one.
        gap = (timestamp - previous.timestamp) % (1 << 32)
        return payload.event == previous.event and not previous.ended and _SEGMENT_MIN <= gap <= 0xFFFF
