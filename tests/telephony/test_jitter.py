import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talktrack.telephony.jitter import JitterBuffer, Lost
from talktrack.telephony.rtp import RtpPacket, RtpSender
from talktrack.testing.pcap import udp_payloads

SIPP = Path("/usr/share/sip-tester")


def pkt(seq, *, ssrc=1, marker=False):
    seq %= 65536
    return RtpPacket(0, seq, seq * 160 % (1 << 32), ssrc, bytes([seq % 256]) * 4, marker=marker)


def feed(buffer, packets):
    out = []
    for p in packets:
        out += buffer.push(p)
    return out


def seqs(items):
    return [i.sequence if isinstance(i, RtpPacket) else Lost(i.count) for i in items]


def bounded_shuffle(items, reach, rng):
    """Reorder so that an item can only be overtaken by the ``reach - 1`` items sent right after it."""
    keys = [i + rng.uniform(0, reach) for i in range(len(items))]
    return [item for _, item in sorted(zip(keys, items, strict=True), key=lambda pair: pair[0])]


@pytest.fixture(scope="module")
def g711a():
    if not SIPP.is_dir():
        pytest.skip("SIPp's pcaps are not installed (Debian sip-tester)")
    return [RtpPacket.parse(d) for d in udp_payloads(SIPP / "g711a.pcap")]


def test_in_order_packets_come_out_at_once(g711a):
    buffer = JitterBuffer()
    for packet in g711a:
        assert buffer.push(packet) == [packet]  # nothing waits on a clean line
    assert buffer.flush() == []
    assert buffer.stats == {"received": len(g711a), "duplicates": 0, "late": 0, "lost": 0, "reordered": 0}


@pytest.mark.parametrize("seed", range(5))
def test_reordered_recording_comes_out_in_order_without_loss(g711a, seed):
    arrivals = g711a[:1] + bounded_shuffle(g711a[1:], 3, random.Random(seed))  # the first packet starts the stream
    assert arrivals != g711a
    buffer = JitterBuffer()  # at most 2 newer packets get ahead of a late one, fewer than max_hold
    out = feed(buffer, arrivals) + buffer.flush()
    assert out == g711a
    assert buffer.stats["lost"] == 0 and buffer.stats["reordered"] > 0


def test_a_gap_waits_for_max_hold_packets_then_is_given_up():
    buffer = JitterBuffer(max_hold=3)
    assert feed(buffer, [pkt(1), pkt(2)]) == [pkt(1), pkt(2)]
    assert buffer.push(pkt(4)) == []
    assert buffer.push(pkt(5)) == []
    assert seqs(buffer.push(pkt(6))) == [Lost(1), 4, 5, 6]
    assert buffer.push(pkt(3)) == []  # too late now
    assert buffer.stats["lost"] == 1 and buffer.stats["late"] == 1


def test_a_gap_that_fills_in_time_costs_nothing():
    buffer = JitterBuffer(max_hold=3)
    assert seqs(feed(buffer, [pkt(1), pkt(3), pkt(4), pkt(2), pkt(5)])) == [1, 2, 3, 4, 5]
    assert buffer.stats["reordered"] == 1 and buffer.stats["lost"] == 0


def test_max_hold_zero_never_holds():
    buffer = JitterBuffer(max_hold=0)
    assert seqs(feed(buffer, [pkt(1), pkt(3), pkt(2), pkt(4)])) == [1, Lost(1), 3, 4]


def test_duplicates_are_dropped_and_counted():
    buffer = JitterBuffer()
    out = feed(buffer, [pkt(1), pkt(2), pkt(2), pkt(4), pkt(4), pkt(1), pkt(3)])
    assert seqs(out) == [1, 2, 3, 4]
    assert buffer.stats["duplicates"] == 3


def test_sequence_numbers_wrap():
    buffer = JitterBuffer()
    arrivals = [pkt(65533), pkt(65534), pkt(0), pkt(65535), pkt(1), pkt(2)]
    assert seqs(feed(buffer, arrivals)) == [65533, 65534, 65535, 0, 1, 2]
    assert buffer.stats["lost"] == 0


@pytest.mark.parametrize(
    "jump",
    [
        pytest.param(lambda: pkt(5000), id="forward"),
        pytest.param(lambda: pkt(40000), id="backward"),
        pytest.param(lambda: pkt(12, ssrc=2), id="new-ssrc"),
        pytest.param(lambda: pkt(60, marker=True), id="talkspurt"),
    ],
)
def test_a_restart_is_not_reported_as_loss(jump):
    buffer = JitterBuffer()
    feed(buffer, [pkt(50), pkt(51)])
    first = jump()
    after = [pkt(first.sequence + i, ssrc=first.ssrc) for i in (1, 2)]
    assert feed(buffer, [first, *after]) == [first, *after]
    assert buffer.stats["lost"] == 0


def test_a_restart_releases_what_was_held():
    buffer = JitterBuffer()
    feed(buffer, [pkt(1), pkt(3)])
    assert seqs(buffer.push(pkt(900))) == [Lost(1), 3, 900]


def test_flush_releases_everything_in_order():
    buffer = JitterBuffer(max_hold=10)
    assert feed(buffer, [pkt(1), pkt(4), pkt(3), pkt(7)]) == [pkt(1)]
    assert seqs(buffer.flush()) == [Lost(1), 3, 4, Lost(2), 7]
    assert buffer.flush() == []
    assert seqs(buffer.push(pkt(8))) == [8]


def test_key_presses_in_the_stream_are_not_loss():
    sender = RtpSender(0, rng=random.Random(1))
    sent = [sender.packet(bytes(160)) for _ in range(5)] + sender.event_packets("3")
    sent += [sender.packet(bytes(160)) for _ in range(5)]
    buffer = JitterBuffer()
    assert feed(buffer, sent) == sent
    assert buffer.stats["lost"] == 0


def test_negative_max_hold_is_refused():
    with pytest.raises(ValueError):
        JitterBuffer(max_hold=-1)


@settings(deadline=None, max_examples=200)
@given(
    start=st.integers(0, 65535),
    count=st.integers(1, 60),
    max_hold=st.integers(0, 5),
    data=st.data(),
)
def test_every_sequence_number_is_accounted_for_once(start, count, max_hold, data):
    """Whatever the loss, duplication and reordering, output is in order and covers each slot exactly once."""
    kept = data.draw(st.lists(st.booleans(), min_size=count, max_size=count))
    sent = [pkt(start + i) for i in range(count) if kept[i] or i == 0]
    dupes = data.draw(st.lists(st.sampled_from(sent), max_size=5))
    arrivals = sent[:1] + data.draw(st.permutations(sent[1:] + dupes))
    buffer = JitterBuffer(max_hold=max_hold)
    out = feed(buffer, arrivals) + buffer.flush()
    slots = []
    for item in out:
        slots += [None] * item.count if isinstance(item, Lost) else [item.sequence]
    played = [s for s in slots if s is not None]
    assert played == sorted(played, key=lambda s: (s - start) % 65536)
    assert len(played) == len(set(played))
    assert slots[0] == start and len(slots) == (played[-1] - start) % 65536 + 1
    assert all(s is None or s == (start + i) % 65536 for i, s in enumerate(slots))
    stats = buffer.stats
    assert stats["received"] == len(arrivals)
    assert stats["lost"] == slots.count(None)
    assert len(played) + stats["duplicates"] + stats["late"] == len(arrivals)
