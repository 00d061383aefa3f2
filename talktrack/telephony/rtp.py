"""RTP packets (RFC 3550) as value classes, the RTP/RTCP demux rule, and the numbering of an outgoing stream.

Sans-I/O: ``RtpPacket.parse(data)`` checks every length and raises ``RtpError``; ``bytes(packet)`` serializes.
``RtpSender`` owns sequence numbers, timestamps and the SSRC of one stream we send, including the RFC 4733
telephone-event packets for a key press.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from talktrack.telephony.rfc4733 import EVENTS, EventPayload

RTP_VERSION = 2
HEADER_SIZE = 12
SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
_EVENT_INTERVAL_MS = 20  # how often RFC 4733 updates are sent, the usual packet time
_END_REPEATS = 3  # RFC 4733 §2.5.1.4: the final packet is sent three times


class RtpError(ValueError):
    """Bytes that are not a valid RTP packet, or field values that cannot be encoded."""


@dataclass(frozen=True)
class RtpPacket:
    """One RTP packet; ``padding`` counts the padding bytes including the trailing count byte (0 = none)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None  # (profile-defined 16 bits, data whose length is a multiple of 4)
    padding: int = 0

    def __post_init__(self) -> None:
        _check_range("payload_type", self.payload_type, 0x7F)
        _check_range("sequence", self.sequence, SEQ_MOD - 1)
        _check_range("timestamp", self.timestamp, TS_MOD - 1)
        _check_range("ssrc", self.ssrc, TS_MOD - 1)
        if len(self.csrc) > 15:
            raise RtpError(f"an RTP packet carries at most 15 CSRCs, got {len(self.csrc)}")
        for source in self.csrc:
            _check_range("csrc", source, TS_MOD - 1)
        if self.extension is not None:
            profile, data = self.extension
            _check_range("extension profile", profile, 0xFFFF)
            if len(data) % 4 or len(data) > 0xFFFF * 4:
                raise RtpError(f"extension data must be a multiple of 4 bytes up to 262140, got {len(data)}")
        _check_range("padding", self.padding, 0xFF)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one datagram; version 2 only."""
        if len(data) < HEADER_SIZE:
            raise RtpError(f"RTP packet is {len(data)} bytes, shorter than the 12-byte header")
        first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
        version = first >> 6
        if version != RTP_VERSION:
            raise RtpError(f"RTP version {version} is not supported (only 2)")
        csrc_count = first & 0x0F
        offset = HEADER_SIZE + 4 * csrc_count
        if len(data) < offset:
            raise RtpError(f"RTP packet is {len(data)} bytes, too short for its {csrc_count} CSRCs")
        csrc = struct.unpack_from(f"!{csrc_count}I", data, HEADER_SIZE)
        extension: tuple[int, bytes] | None = None
        if first & 0x10:
            if len(data) < offset + 4:
                raise RtpError("RTP packet is too short for its header extension")
            profile, words = struct.unpack_from("!HH", data, offset)
            offset += 4
            if len(data) < offset + 4 * words:
                raise RtpError(f"RTP header extension claims {4 * words} bytes but the packet ends first")
            extension = (profile, bytes(data[offset : offset + 4 * words]))
            offset += 4 * words
        end = len(data)
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or offset + padding > end:
                raise RtpError(f"RTP padding count {padding} does not fit the {end - offset}-byte payload")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extension=extension,
            padding=padding,
        )

    def __bytes__(self) -> bytes:
        first = (RTP_VERSION << 6) | len(self.csrc)
        if self.padding:
            first |= 0x20
        if self.extension is not None:
            first |= 0x10
        second = (0x80 if self.marker else 0) | self.payload_type
        parts = [struct.pack("!BBHII", first, second, self.sequence, self.timestamp, self.ssrc)]
        parts.extend(struct.pack("!I", source) for source in self.csrc)
        if self.extension is not None:
            profile, data = self.extension
            parts.append(struct.pack("!HH", profile, len(data) // 4))
            parts.append(data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)


def _check_range(name: str, value: int, maximum: int) -> None:
    if not 0 <= value <= maximum:
        raise RtpError(f"RTP {name} must be between 0 and {maximum}, got {value}")


def is_rtcp(data: bytes) -> bool:
    """True for RTCP multiplexed on the RTP port (RFC 5761 §4: second byte 192–223)."""
    return len(data) >= 2 and data[0] >> 6 == RTP_VERSION and 192 <= data[1] <= 223


class RtpSender:
    """Sequence numbers, timestamps and SSRC for one outgoing stream; random starting points (RFC 3550 §5.1)."""

    def __init__(
        self,
        payload_type: int,
        *,
        ssrc: int | None = None,
        samples_per_packet: int = 160,
        rng: random.Random | None = None,
        clock_rate: int = 8000,
    ) -> None:
        _check_range("payload_type", payload_type, 0x7F)
        if samples_per_packet <= 0 or clock_rate <= 0:
            raise RtpError("samples_per_packet and clock_rate must be positive")
        rng = rng if rng is not None else random.Random()
        self.payload_type = payload_type
        self.ssrc = ssrc if ssrc is not None else rng.getrandbits(32)
        _check_range("ssrc", self.ssrc, TS_MOD - 1)
        self.samples_per_packet = samples_per_packet
        self.clock_rate = clock_rate
        self.sequence = rng.getrandbits(16)  # the next packet's
        self.timestamp = rng.getrandbits(32)  # the next packet's
        # The first packet of a stream starts a talkspurt (RFC 3551 §4.1), as does the first after a pause.
        self._talkspurt_start = True

    def packet(self, payload: bytes, *, marker: bool = False) -> RtpPacket:
        """The next media packet; advances the sequence by one and the timestamp by one packet of samples."""
        packet = RtpPacket(
            self.payload_type,
            self.sequence,
            self.timestamp,
            self.ssrc,
            payload,
            marker=marker or self._talkspurt_start,
        )
        self._talkspurt_start = False
        self.sequence = (self.sequence + 1) % SEQ_MOD
        self.timestamp = (self.timestamp + self.samples_per_packet) % TS_MOD
        return packet

    def skip(self, samples: int) -> None:
        """Account for silence that is not sent: the timestamp jumps and the next packet carries the marker."""
        if samples < 0:
            raise RtpError(f"cannot skip a negative number of samples ({samples})")
        self.timestamp = (self.timestamp + samples) % TS_MOD
        self._talkspurt_start = True

    def event_packets(
        self, digit: str, *, duration_ms: int = 100, dtmf_payload_type: int = 101, volume: int = 10
    ) -> list[RtpPacket]:
        """RFC 4733 packets for one key press, to be sent 20 ms apart in place of audio.

        All share the event's start timestamp; the first has the marker; the final one (E bit) goes three times.
        Afterwards the media timestamp has moved on by the event's duration.
        """
        code = EVENTS.find(digit.upper()) if len(digit) == 1 else -1
        if code < 0:
            raise RtpError(f"cannot send DTMF {digit!r}: use one of {EVENTS}")
        _check_range("dtmf_payload_type", dtmf_payload_type, 0x7F)
        _check_range("DTMF volume", volume, 0x3F)
        step = self.clock_rate * _EVENT_INTERVAL_MS // 1000
        total = self.clock_rate * duration_ms // 1000
        if not step <= total <= 0xFFFF:
            raise RtpError(f"DTMF duration {duration_ms} ms must fit one event: {_EVENT_INTERVAL_MS} ms to 8 s")
        durations = [*range(step, total, step), total]
        payloads = [EventPayload(code, False, volume, d) for d in durations]
        payloads += [EventPayload(code, True, volume, total)] * _END_REPEATS
        packets = []
        for index, event in enumerate(payloads):
            packets.append(
                RtpPacket(dtmf_payload_type, self.sequence, self.timestamp, self.ssrc, bytes(event), marker=index == 0)
            )
            self.sequence = (self.sequence + 1) % SEQ_MOD
        self.timestamp = (self.timestamp + total) % TS_MOD
        return packets
