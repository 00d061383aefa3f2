"""A minimum-latency reorder buffer for one incoming RTP stream.

It never waits on a clean line: a packet that arrives in order is released at once. Only a gap holds
packets back, and only until the gap fills or ``max_hold`` newer packets are waiting; then the gap is given
up as ``Lost`` so the caller can play silence or concealment. Smoothing arrival jitter is the playout
clock's job (the caller plays a frame every 20 ms and conceals when nothing is ready), not this buffer's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from talktrack.telephony.rtp import SEQ_MOD, RtpPacket

MAX_JUMP = 100  # a sequence jump bigger than this is a new stream, not loss (RFC 3550 A.1 uses a similar bound)
_HISTORY = 512  # played sequence numbers remembered to tell duplicates from packets that came too late


@dataclass(frozen=True)
class Lost:
    """Packets given up on: the caller plays that many frames of silence or concealment."""

    count: int


Output = list[RtpPacket | Lost]


class JitterBuffer:
    """Reorders one stream's packets with no added delay when they arrive in order.

    Push every packet of the stream, telephone-events and comfort noise included, and demultiplex what comes
    out: they share the sequence numbers, so leaving them out would look like loss. ``stats`` counts packets
    ``received``, ``duplicates`` and ``late`` ones dropped, ``lost`` ones given up on, and ``reordered`` gaps
    that filled in time.
    """

    def __init__(self, *, max_hold: int = 3) -> None:
        if max_hold < 0:
            raise ValueError(f"max_hold must be 0 or more, got {max_hold}")
        self.max_hold = max_hold
        self.stats: dict[str, int] = {"received": 0, "duplicates": 0, "late": 0, "lost": 0, "reordered": 0}
        self._ssrc: int | None = None
        self._expected: int | None = None  # extended (unwrapped) sequence number of the next packet to play
        self._held: dict[int, RtpPacket] = {}
        self._played: deque[int] = deque(maxlen=_HISTORY)
        self._played_set: set[int] = set()

    def push(self, packet: RtpPacket) -> Output:
        """What can be played now, in order, after this packet arrived."""
        self.stats["received"] += 1
        if self._expected is None or packet.ssrc != self._ssrc:
            return self._restart(packet, forget=True)
        delta = _seq_delta(packet.sequence, self._expected)
        seq = self._expected + delta
        if abs(delta) > MAX_JUMP:
            return self._restart(packet, forget=False)
        if delta < 0 or seq in self._held:
            self.stats["duplicates" if seq in self._played_set or seq in self._held else "late"] += 1
            return []
        if delta > 0 and packet.marker:
            # A new talkspurt after a gap: whatever is missing belonged to the silence before it.
            return self._restart(packet, forget=False)
        if delta == 0:
            if self._held:
                self.stats["reordered"] += 1
            out: Output = [packet]
            self._mark_played(seq)
            self._expected = seq + 1
            out.extend(self._drain())
            return out
        self._held[seq] = packet
        out = []
        while self._held and len(self._held) >= self.max_hold:
            out.extend(self._give_up_gap())
        return out

    def flush(self) -> Output:
        """Release everything held, reporting the gaps before it as lost (when the stream pauses)."""
        out: Output = []
        while self._held:
            out.extend(self._give_up_gap())
        return out

    def _give_up_gap(self) -> Output:
        assert self._expected is not None
        first = min(self._held)
        missing = first - self._expected
        self.stats["lost"] += missing
        self._expected = first
        return [Lost(missing), *self._drain()]

    def _drain(self) -> Output:
        assert self._expected is not None
        out: Output = []
        while self._expected in self._held:
            out.append(self._held.pop(self._expected))
            self._mark_played(self._expected)
            self._expected += 1
        return out

    def _restart(self, packet: RtpPacket, *, forget: bool) -> Output:
        out = self.flush()
        if forget:
            self._ssrc = packet.ssrc
            self._played.clear()
            self._played_set.clear()
            seq = packet.sequence
        else:
            assert self._expected is not None
            seq = self._expected + _seq_delta(packet.sequence, self._expected)
        out.append(packet)
        self._mark_played(seq)
        self._expected = seq + 1
        return out

    def _mark_played(self, seq: int) -> None:
        if len(self._played) == self._played.maxlen:
            self._played_set.discard(self._played[0])
        self._played.append(seq)
        self._played_set.add(seq)


def _seq_delta(sequence: int, expected: int) -> int:
    """Signed distance from the expected sequence number to ``sequence``, across the 16-bit wrap."""
    return (sequence - expected + SEQ_MOD // 2) % SEQ_MOD - SEQ_MOD // 2
