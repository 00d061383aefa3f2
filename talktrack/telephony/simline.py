"""An in-process phone line: two ends carrying 20 ms frames of 8 kHz μ-law in real time.

Each direction models the network (latency, jitter, loss) and the receiver's playout
buffer: a frame is played at max(arrival, end of the previous frame), so a burst
sent early still plays at the speaking rate, and ``play_at`` is when the listener
actually hears it. ``clear()`` drops frames sent but not yet played, like a
carrier's "clear" message or an RTP sender that stops.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from dataclasses import dataclass

from talktrack.audio.dtmf import dtmf_frames
from talktrack.audio.g711 import ulaw_encode

FRAME_MS = 20
FRAME_S = FRAME_MS / 1000.0
RATE = 8000
FRAME_BYTES = RATE * FRAME_MS // 1000  # one byte per μ-law sample


class LineClosed(Exception):
    """The far end hung up and every frame it sent has been played."""


@dataclass(frozen=True)
class LineConditions:
    """Network conditions of one direction of the line."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    seed: int = 0


class Direction:
    """Frames in flight from one end to the other, with the receiver's playout clock."""

    def __init__(self, conditions: LineConditions) -> None:
        self._cond = conditions
        self._rng = random.Random(conditions.seed)
        self._frames: deque[tuple[float, bytes]] = deque()
        self._changed = asyncio.Event()
        self._next_play = 0.0
        self.closed = False
        self.sent = 0
        self.lost = 0

    def put(self, payload: bytes) -> None:
        self.sent += 1
        if self._cond.loss and self._rng.random() < self._cond.loss:
            self.lost += 1
            return
        jitter = self._rng.uniform(0.0, self._cond.jitter_ms) if self._cond.jitter_ms else 0.0
        arrive = time.monotonic() + (self._cond.latency_ms + jitter) / 1000.0
        # A jitter buffer reorders late packets; keeping arrival order monotonic models that.
        if self._frames and arrive < self._frames[-1][0]:
            arrive = self._frames[-1][0]
        self._frames.append((arrive, payload))
        self._changed.set()

    def clear(self) -> int:
        dropped = len(self._frames)
        self._frames.clear()
        self._changed.set()
        return dropped

    def close(self) -> None:
        self.closed = True
        self._changed.set()

    async def get(self) -> tuple[bytes, float]:
        while True:
            if self._frames:
                arrive, payload = self._frames[0]
                play_at = max(arrive, self._next_play)
                delay = play_at - time.monotonic()
                if delay > 0:
                    self._changed.clear()
                    try:
                        await asyncio.wait_for(self._changed.wait(), delay)
                    except TimeoutError:
                        pass
                    continue
                self._frames.popleft()
                self._next_play = play_at + FRAME_S
                return payload, play_at
            if self.closed:
                raise LineClosed
            self._changed.clear()
            await self._changed.wait()


class LineEnd:
    """One end of a :class:`SimLine`: send frames, receive the far end's frames as they play."""

    def __init__(self, name: str, outgoing: Direction, incoming: Direction) -> None:
        self.name = name
        self._out = outgoing
        self._in = incoming

    def send(self, payload: bytes) -> None:
        """Send one 20 ms frame (160 bytes of μ-law)."""
        if self._out.closed:
            raise LineClosed
        self._out.put(payload)

    async def recv(self) -> tuple[bytes, float]:
        """Next frame from the far end and the monotonic time it plays here."""
        return await self._in.get()

    def clear(self) -> int:
        """Drop what this end sent that the far end has not heard yet; returns frames dropped."""
        return self._out.clear()

    async def send_dtmf(self, digits: str) -> None:
        """Press keys as in-band tones (a simulated line has no RFC 4733 channel)."""
        for frame in dtmf_frames(digits, frame_samples=FRAME_BYTES):
            self.send(ulaw_encode(frame))

    def hangup(self) -> None:
        """Hang up: the far end hears what is in flight, then gets LineClosed."""
        self._out.close()
        self._in.close()

    @property
    def far_end_hung_up(self) -> bool:
        """True once the far end has hung up."""
        return self._in.closed

    @property
    def stats(self) -> dict[str, int]:
        """Frames sent and lost on this end's outgoing direction."""
        return {"sent": self._out.sent, "lost": self._out.lost}


class SimLine:
    """A phone line between a caller end and an agent end."""

    def __init__(
        self,
        to_agent: LineConditions | None = None,
        to_caller: LineConditions | None = None,
    ) -> None:
        a2c = Direction(to_caller or LineConditions())
        c2a = Direction(to_agent or LineConditions())
        self.caller = LineEnd("caller", outgoing=c2a, incoming=a2c)
        self.agent = LineEnd("agent", outgoing=a2c, incoming=c2a)
