"""A machine's long speech, transcribed in pieces at its own pauses.

A phone menu reads out 20 s or more with only short breaths between its options, so the turn taker,
which waits for the end of a turn, hears it as one utterance and transcribes it (when it finally can)
in one long and lossy pass. While the screener knows a machine is talking, `MachineEars` cuts the raw
audio at every pause of `pause_s` (or every `max_segment_s`) and transcribes each piece on its own,
so "To establish a sales partnership, press one" is known seconds before the menu ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pipecat.frames.frames import Frame, InputAudioRawFrame, SystemFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from talktrack.audio.levels import is_audible
from talktrack.audio.resample import float_at
from talktrack.speech.stt_whisper import WhisperSTT

_STT_RATE = 16000


@dataclass
class MachineSpeechFrame(SystemFrame):
    """Words of one piece of a machine's speech; ``start``/``end`` are monotonic times."""

    text: str = ""
    start: float = 0.0
    end: float = 0.0


class MachineEars(FrameProcessor):
    """Before the turn taker: passes audio on, and transcribes pause-delimited pieces while `active()`."""

    def __init__(
        self,
        stt: WhisperSTT,
        rate: int,
        *,
        active: Callable[[], bool],
        language: str = "en",
        pause_s: float = 0.25,
        max_segment_s: float = 8.0,
        min_segment_s: float = 0.4,
    ) -> None:
        super().__init__(name="machine-ears")
        self._stt = stt
        self._rate = rate
        self._active = active
        self._language = language
        self._pause = int(pause_s * rate)
        self._max = int(max_segment_s * rate)
        self._min = int(min_segment_s * rate)
        self._pieces: list[np.ndarray] = []
        self._size = 0
        self._quiet = 0  # samples of quiet at the end of the buffer
        self._started = 0.0
        self._order = asyncio.Lock()  # pieces are reported in the order they were spoken
        self._in_flight = 0

    @property
    def busy(self) -> bool:
        """True while a piece is still being transcribed (a menu's last option may be in it)."""
        return self._in_flight > 0 or bool(self._pieces and self._active())

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and direction is FrameDirection.DOWNSTREAM:
            self._hear(np.frombuffer(frame.audio, dtype=np.int16))
        await self.push_frame(frame, direction)

    def _hear(self, pcm: np.ndarray) -> None:
        loud = is_audible(pcm)
        if not self._pieces and not loud:
            return
        if not self._pieces:
            self._started = time.monotonic() - pcm.size / self._rate
        self._pieces.append(pcm)
        self._size += pcm.size
        self._quiet = 0 if loud else self._quiet + pcm.size
        if self._quiet >= self._pause or self._size >= self._max:
            audio = np.concatenate(self._pieces)
            audio = audio[: audio.size - self._quiet] if self._quiet < audio.size else audio
            start, end = self._started, self._started + audio.size / self._rate
            self._pieces, self._size, self._quiet = [], 0, 0
            if audio.size >= self._min and self._active():
                self._in_flight += 1
                self.create_task(self._transcribe(audio, start, end), name="machine-ears-stt")

    async def _transcribe(self, audio: np.ndarray, start: float, end: float) -> None:
        try:
            async with self._order:
                samples = float_at(audio, self._rate, _STT_RATE)
                result = await asyncio.to_thread(self._stt.transcribe, samples, self._language)
                if result.text.strip():
                    await self.push_frame(MachineSpeechFrame(text=result.text.strip(), start=start, end=end))
        finally:
            self._in_flight -= 1
