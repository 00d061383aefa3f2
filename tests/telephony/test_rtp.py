import random
import struct
from pathlib import Path

import pytest
from aiortc import rtp as aiortc_rtp
from hypothesis import given, settings
from hypothesis import strategies as st

from talktrack.telephony.rfc4733 import EVENTS, DtmfReceiver, EventPayload
from talktrack.telephony.rtp import RtpError, RtpPacket, RtpSender, is_rtcp

SIPP = Path("/usr/share/sip-tester")


def udp_payloads(path: Path) -> list[bytes]:
    """UDP payloads of a classic pcap (Ethernet or Linux cooked capture, IPv4)."""
    data = path.read_bytes()
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}[data[:4]]
    link = struct.unpack_from(endian + "I", data, 20)[0]
    link_header = {1: 14, 113: 16}[link]
    out, offset = [], 24
    while offset + 16 <= len(data):
        length = struct.unpack_from(endian + "I", data, offset + 8)[0]
        frame = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        ip = frame[link_header:]
        if ip[0] >> 4 == 4 and ip[9] == 17:
            udp = ip[(ip[0] & 0x0F) * 4 :]
            out.append(udp[8 : struct.unpack_from("!H", udp, 4)[0]])
    return out


needs_sipp = pytest.mark.skipif(not SIPP.is_dir(), reason="SIPp's pcaps are not installed (Debian sip-tester)")

packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=300),
    marker=st.booleans(),
    csrc=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
    extension=st.none() | st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=40).map(lambda b: b[: len(b) // 4 * 4])),
    padding=st.integers(0, 255),
)


@settings(deadline=None)
@given(packets)
def test_every_packet_survives_a_round_trip(packet):
    assert RtpPacket.parse(bytes(packet)) == packet


@settings(deadline=None)
@given(st.binary(max_size=200))
def test_malformed_datagrams_raise_only_rtp_error(data):
    try:
        packet = RtpPacket.parse(data)
    except RtpError:
        return
    assert len(bytes(packet)) == len(data)


def test_header_fields_are_read_from_their_bits():
    header = bytes.fromhex("b1e3 0102 00000ffa 11223344 55667788 beef0001 0a0b0c0d")
    packet = RtpPacket.parse(header + b"voice" + b"\x00\x00\x03")
    assert (packet.payload_type, packet.marker, packet.sequence) == (0x63, True, 0x0102)
    assert (packet.timestamp, packet.ssrc, packet.csrc) == (0xFFA, 0x11223344, (0x55667788,))
    assert packet.extension == (0xBEEF, bytes.fromhex("0a0b0c0d"))
    assert (packet.payload, packet.padding) == (b"voice", 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80\x00\x00", "shorter than the 12-byte header"),
        (bytes([0x40]) + bytes(11), "version 1"),
        (bytes([0x83]) + bytes(11) + bytes(8), "3 CSRCs"),
        (bytes([0x90]) + bytes(11) + b"\x00\x01", "header extension"),
        (bytes([0x90]) + bytes(11) + b"\x00\x01\x00\x02" + bytes(4), "claims 8 bytes"),
        (bytes([0xA0]) + bytes(11) + b"ab\x00", "padding count 0"),
        (bytes([0xA0]) + bytes(11) + b"ab\x09", "padding count 9"),
    ],
)
def test_each_malformation_is_named(data, message):
    with pytest.raises(RtpError, match=message):
        RtpPacket.parse(data)


@pytest.mark.parametrize(
    "fields",
    [
        {"payload_type": 128},
        {"sequence": 0x10000},
        {"timestamp": -1},
        {"ssrc": 1 << 32},
        {"csrc": tuple(range(16))},
        {"extension": (1, b"abc")},
        {"padding": 256},
    ],
)
def test_unencodable_fields_are_refused(fields):
    base = {"payload_type": 0, "sequence": 1, "timestamp": 2, "ssrc": 3}
    with pytest.raises(RtpError):
        RtpPacket(**(base | fields))


@settings(deadline=None)
@given(packets.filter(lambda p: not p.csrc and p.extension is None and not p.padding))
def test_agrees_with_aiortc_both_ways(packet):
    theirs = aiortc_rtp.RtpPacket.parse(bytes(packet))
    assert (theirs.payload_type, bool(theirs.marker), theirs.sequence_number) == (
        packet.payload_type,
        packet.marker,
        packet.sequence,
    )
    assert (theirs.timestamp, theirs.ssrc, theirs.payload) == (packet.timestamp, packet.ssrc, packet.payload)
    assert RtpPacket.parse(theirs.serialize()) == packet


@needs_sipp
def test_sipp_g711a_stream_parses_and_reserializes_byte_for_byte():
    datagrams = udp_payloads(SIPP / "g711a.pcap")
    parsed = [RtpPacket.parse(d) for d in datagrams]
    assert len(parsed) > 100
    assert [bytes(p) for p in parsed] == datagrams
    assert {p.payload_type for p in parsed} == {8}
    assert len({p.ssrc for p in parsed}) == 1
    for before, after in zip(parsed, parsed[1:], strict=False):
        assert after.sequence == (before.sequence + 1) % 65536
        assert after.timestamp == before.timestamp + len(before.payload)  # A-law: one byte per sample
    assert not any(is_rtcp(d) for d in datagrams)


@needs_sipp
@pytest.mark.parametrize("name", sorted(p.name for p in SIPP.glob("dtmf_2833_*.pcap")) if SIPP.is_dir() else [])
def test_sipp_dtmf_streams_parse(name):
    parsed = [RtpPacket.parse(d) for d in udp_payloads(SIPP / name)]
    assert parsed and {p.payload_type for p in parsed} == {101}
    assert parsed[0].marker and len({p.timestamp for p in parsed}) == 1


@pytest.mark.parametrize("packet_type", range(192, 224))
def test_rtcp_is_told_apart_by_its_packet_type(packet_type):
    assert is_rtcp(bytes([0x80, packet_type, 0, 1]) + bytes(4))


@settings(deadline=None)
@given(packets.filter(lambda p: not 64 <= p.payload_type <= 95))
def test_rtp_is_never_taken_for_rtcp(packet):
    # RFC 5761 §4 keeps payload types 64–95 out of multiplexed sessions; every other one must pass.
    assert not is_rtcp(bytes(packet))


def test_short_or_foreign_data_is_not_rtcp():
    assert not is_rtcp(b"")
    assert not is_rtcp(b"\x80")
    assert not is_rtcp(bytes([0x00, 200]) + bytes(6))  # STUN-like first byte


def test_sender_numbers_packets_and_wraps():
    sender = RtpSender(0, ssrc=7, rng=random.Random(1))
    sender.sequence, sender.timestamp = 0xFFFF, 0xFFFFFFFF - 100
    first, second = sender.packet(bytes(160)), sender.packet(bytes(160))
    assert (first.sequence, second.sequence) == (0xFFFF, 0)
    assert second.timestamp == (first.timestamp + 160) % (1 << 32)
    assert first.ssrc == second.ssrc == 7
    assert first.marker and not second.marker  # the stream's first packet starts a talkspurt


def test_sender_starting_points_are_random_but_reproducible():
    a, b, c = (RtpSender(8, rng=random.Random(seed)) for seed in (5, 5, 6))
    assert (a.ssrc, a.sequence, a.timestamp) == (b.ssrc, b.sequence, b.timestamp)
    assert (a.ssrc, a.sequence, a.timestamp) != (c.ssrc, c.sequence, c.timestamp)


def test_skipped_silence_moves_the_clock_and_marks_the_next_talkspurt():
    sender = RtpSender(0, rng=random.Random(2))
    before = sender.packet(b"x" * 160)
    sender.skip(800)
    after, next_one = sender.packet(b"y" * 160), sender.packet(b"z" * 160)
    assert after.sequence == (before.sequence + 1) % 65536  # no packets were sent, so none are missing
    assert after.timestamp == (before.timestamp + 160 + 800) % (1 << 32)
    assert after.marker and not next_one.marker
    with pytest.raises(RtpError):
        sender.skip(-1)


@pytest.mark.parametrize("duration_ms", [40, 100, 130, 250])
def test_event_packets_follow_rfc4733(duration_ms):
    sender = RtpSender(0, rng=random.Random(3))
    media = sender.packet(bytes(160))
    events = sender.event_packets("7", duration_ms=duration_ms, dtmf_payload_type=96, volume=12)
    payloads = [EventPayload.parse(p.payload) for p in events]
    total = duration_ms * 8
    assert {p.timestamp for p in events} == {media.timestamp + 160}
    assert [p.marker for p in events] == [True] + [False] * (len(events) - 1)
    assert [p.sequence for p in events] == [(media.sequence + 1 + i) % 65536 for i in range(len(events))]
    assert {p.payload_type for p in events} == {96}
    assert {(e.event, e.volume) for e in payloads} == {(EVENTS.index("7"), 12)}
    updates, ends = payloads[:-3], payloads[-3:]
    assert all(not e.end for e in updates) and all(e.end and e.duration == total for e in ends)
    assert [e.duration for e in updates] == sorted({e.duration for e in updates})
    assert all(b.duration - a.duration <= 160 for a, b in zip(updates, updates[1:], strict=False))
    assert updates[-1].duration == total
    resumed = sender.packet(bytes(160))
    assert resumed.timestamp == (media.timestamp + 160 + total) % (1 << 32)
    assert resumed.sequence == (events[-1].sequence + 1) % 65536


def test_event_packets_decode_to_the_digits_sent():
    sender = RtpSender(0, rng=random.Random(4))
    receiver = DtmfReceiver()
    heard = [receiver.push(p) for digit in EVENTS for p in sender.event_packets(digit)]
    assert "".join(d for d in heard if d) == EVENTS


@pytest.mark.parametrize(("digit", "duration_ms"), [("x", 100), ("12", 100), ("", 100), ("1", 10), ("1", 9000)])
def test_impossible_events_are_refused(digit, duration_ms):
    with pytest.raises(RtpError):
        RtpSender(0).event_packets(digit, duration_ms=duration_ms)


def test_event_volume_must_fit_six_bits():
    with pytest.raises(RtpError, match="volume"):
        RtpSender(0).event_packets("1", volume=64)
