"""Stereo call recording (left: prospect, right: agent), placed by the time audio crossed the line."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np

from talktrack.telephony.simline import RATE


class CallRecorder:
    """Collects both directions at 8 kHz; each frame lands at its time since the call started."""

    def __init__(self, t0: float | None = None, rate: int = RATE) -> None:
        self.t0 = time.monotonic() if t0 is None else t0
        self.rate = rate
        self._tracks: dict[str, list[tuple[int, np.ndarray]]] = {"prospect": [], "agent": []}
        self._agent_cursor = 0

    def prospect(self, pcm: np.ndarray, t: float) -> None:
        """Prospect audio as the agent received it at monotonic time ``t``."""
        self._tracks["prospect"].append((self._pos(t), pcm.copy()))

    def agent(self, pcm: np.ndarray, t: float) -> None:
        """Agent audio as it was put on the line at monotonic time ``t``."""
        # Frames sent ahead of time must not overlap one another in the recording.
        pos = max(self._pos(t), self._agent_cursor)
        self._agent_cursor = pos + pcm.size
        self._tracks["agent"].append((pos, pcm.copy()))

    def _pos(self, t: float) -> int:
        return max(0, int(round((t - self.t0) * self.rate)))

    def track(self, name: str) -> np.ndarray:
        """One side of the call as a contiguous int16 signal."""
        parts = self._tracks[name]
        end = max((pos + pcm.size for pos, pcm in parts), default=0)
        out = np.zeros(end, dtype=np.int16)
        for pos, pcm in parts:
            out[pos : pos + pcm.size] = pcm
        return out

    def write_wav(self, path: Path) -> Path:
        """Write the stereo WAV and return its path."""
        left, right = self.track("prospect"), self.track("agent")
        n = max(left.size, right.size)
        stereo = np.zeros((n, 2), dtype=np.int16)
        stereo[: left.size, 0] = left
        stereo[: right.size, 1] = right
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(stereo.tobytes())
        return path
