"""Speech onset, pause and resume from per-window voice confidence (sans-I/O).

Feed 8 or 16 kHz int16 audio in any frame size; the endpointer scores fixed
windows (Silero's 32 ms) with an injected ``confidence`` function and reports
events in sample time, so it runs the same under a test, a live call or a file.
A *pause* is the speculative end of an utterance: the caller starts STT and the
turn model on it, and either commits the turn or sees a *resume*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from talktrack.audio.levels import rms_dbfs


@dataclass(frozen=True)
class EndpointSettings:
    """Thresholds of the endpointer, in seconds of audio."""

    confidence: float = 0.5
    start_s: float = 0.1
    stop_s: float = 0.2
    preroll_s: float = 0.3
    max_utterance_s: float = 30.0
    # A window this far below the speaker's own level counts as silence even while
    # Silero's confidence is still decaying (its tail lags the real end by ~100 ms).
    energy_drop_db: float = 25.0


class EventKind(Enum):
    """What the endpointer noticed."""

    ONSET = "onset"
    PAUSE = "pause"
    RESUME = "resume"


@dataclass(frozen=True)
class SpeechEvent:
    """An endpointing event, in samples from the start of the stream.

    ``mark`` is the estimated first voiced sample for an onset, and the end of the
    last voiced window for a pause or resume.
    """

    kind: EventKind
    at: int
    mark: int = 0


class _State(Enum):
    QUIET = 0
    SPEAKING = 1
    PAUSED = 2


class Endpointer:
    """Turns a stream of audio into onset / pause / resume events and keeps the utterance."""

    def __init__(
        self,
        rate: int,
        confidence: Callable[[bytes], float],
        settings: EndpointSettings | None = None,
    ) -> None:
        self.rate = rate
        self.settings = settings or EndpointSettings()
        self._confidence = confidence
        self.window = 512 if rate == 16000 else 256
        window_s = self.window / rate
        self._start_windows = max(1, round(self.settings.start_s / window_s))
        self._stop_windows = max(1, round(self.settings.stop_s / window_s))
        # Keep the pre-roll before the first voiced window, not before the onset decision.
        self._preroll = int(self.settings.preroll_s * rate) + self._start_windows * self.window
        self._pending = np.zeros(0, dtype=np.int16)
        self._audio: list[npt.NDArray[np.int16]] = []
        self._audio_len = 0
        self._audio_start = 0
        self._state = _State.QUIET
        self._voiced_run = 0
        self._silent_run = 0
        self._voiced_end = 0
        self.position = 0  # samples scored so far
        self.last_confidence = 0.0
        self._speech_db = -30.0

    @property
    def in_utterance(self) -> bool:
        """True between an onset and the commit of the turn."""
        return self._state is not _State.QUIET

    @property
    def speaking(self) -> bool:
        """True while the prospect is audibly talking (not in a pause)."""
        return self._state is _State.SPEAKING

    def feed(self, pcm: npt.NDArray[np.int16]) -> list[SpeechEvent]:
        """Add audio; returns the events it caused, in order."""
        events: list[SpeechEvent] = []
        self._pending = np.concatenate([self._pending, pcm]) if self._pending.size else pcm
        while self._pending.size >= self.window:
            win, self._pending = self._pending[: self.window], self._pending[self.window :]
            event = self._score(win)
            if event:
                events.append(event)
        return events

    def utterance(self) -> npt.NDArray[np.int16]:
        """Audio of the current utterance, from the pre-roll before its onset to now."""
        if not self._audio:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._audio)

    @property
    def utterance_start(self) -> int:
        """Sample position where :meth:`utterance` begins."""
        return self._audio_start

    def prepend(self, audio: npt.NDArray[np.int16], start: int) -> None:
        """Put back an earlier utterance (which began at sample ``start``) before the current one.

        Used when a committed turn turns out to continue: STT then hears it whole.
        """
        current = self.utterance()
        overlap = max(0, start + audio.size - self._audio_start)
        gap = max(0, self._audio_start - (start + audio.size))
        head = audio[: audio.size - overlap] if overlap else audio
        parts = [head, np.zeros(gap, dtype=np.int16), current]
        self._audio = [np.concatenate(parts)]
        self._audio_len = self._audio[0].size
        self._audio_start = start

    def commit(self) -> None:
        """The turn was taken: forget the utterance and listen for the next onset."""
        self._state = _State.QUIET
        self._voiced_run = 0
        self._silent_run = 0
        self._trim_to_preroll()

    def _keep(self, win: npt.NDArray[np.int16]) -> None:
        self._audio.append(win)
        self._audio_len += win.size
        if self._state is _State.QUIET:
            self._trim_to_preroll()
        elif self._audio_len > self.settings.max_utterance_s * self.rate:
            drop = self._audio.pop(0)
            self._audio_len -= drop.size
            self._audio_start += drop.size

    def _trim_to_preroll(self) -> None:
        while self._audio and self._audio_len - self._audio[0].size >= self._preroll:
            drop = self._audio.pop(0)
            self._audio_len -= drop.size
            self._audio_start += drop.size

    def _score(self, win: npt.NDArray[np.int16]) -> SpeechEvent | None:
        conf = float(np.asarray(self._confidence(win.tobytes())).reshape(-1)[0])
        self.last_confidence = conf
        start = self.position
        self.position += win.size
        self._keep(win)
        level = rms_dbfs(win)
        voiced = conf >= self.settings.confidence
        if voiced and self._state is _State.QUIET and self._voiced_run == 0:
            self._speech_db = level
        elif voiced and level < self._speech_db - self.settings.energy_drop_db:
            voiced = False
        elif voiced:
            # Track the talker's loud syllables (fast attack, slow release): quiet tails and
            # breaths must not drag the gate down with them.
            rate = 0.3 if level > self._speech_db else 0.02
            self._speech_db += rate * (level - self._speech_db)
        if voiced:
            self._voiced_end = self.position
            self._voiced_run += 1
            self._silent_run = 0
        else:
            self._voiced_run = 0
            self._silent_run += 1
        if self._state is _State.QUIET and self._voiced_run >= self._start_windows:
            self._state = _State.SPEAKING
            onset = start - (self._start_windows - 1) * self.window
            return SpeechEvent(EventKind.ONSET, at=self.position, mark=onset)
        if self._state is _State.SPEAKING and self._silent_run >= self._stop_windows:
            self._state = _State.PAUSED
            return SpeechEvent(EventKind.PAUSE, at=self.position, mark=self._voiced_end)
        if self._state is _State.PAUSED and self._voiced_run >= self._start_windows:
            self._state = _State.SPEAKING
            return SpeechEvent(EventKind.RESUME, at=self.position, mark=self._voiced_end)
        return None
