"""Speaks agent lines: cached phrases at once, other clauses synthesized while the previous one plays."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from pipecat.frames.frames import Frame, TTSAudioRawFrame, TTSStartedFrame, TTSStoppedFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from talktrack.calls.frames import AgentSayFrame
from talktrack.calls.ledger import SpeechLedger
from talktrack.calls.record import CallLog
from talktrack.speech.clauses import split_clauses
from talktrack.speech.phrase_cache import PhraseCache
from talktrack.speech.tts_piper import PiperTTS


class Speaker(FrameProcessor):
    """Turns :class:`AgentSayFrame` into TTS audio frames at the line rate.

    A whole line found in the phrase cache (an FAQ answer, the opener) plays at once;
    otherwise each clause is looked up, then synthesized in a worker thread. The
    first clause is short by construction, so the prospect hears the agent while
    the rest of the line is still being made. An interruption cancels the frame
    being processed, which abandons the remaining clauses.
    """

    def __init__(self, *, tts: PiperTTS, cache: PhraseCache, ledger: SpeechLedger, log: CallLog, rate: int) -> None:
        super().__init__(name="speaker")
        self._tts = tts
        self._cache = cache
        self._ledger = ledger
        self._log = log
        self._rate = rate

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, AgentSayFrame):
            await self._speak(frame)
        else:
            await self.push_frame(frame, direction)

    def _note_first_audio(self, frame: AgentSayFrame, started: float) -> None:
        """Complete the turn's timings: TTS time to first audio, engine speech-end to first audio."""
        record = self._log.turns[-1] if self._log.turns else None
        if record is None or record.index != frame.turn or record.reply != frame.text:
            return
        now = time.monotonic()
        record.tts_first_ms = round((now - started) * 1000.0, 1)
        record.engine_v2v_ms = round((self._log.rel(now) - record.speech_end_s) * 1000.0, 1)

    async def _audio_for(self, text: str) -> tuple[np.ndarray, bool]:
        cached = self._cache.get(text)
        if cached is not None:
            return cached, True
        audio = await asyncio.to_thread(self._tts.synthesize_at, text, self._rate)
        return audio, False

    async def _play(
        self, frame: AgentSayFrame, clause: str, audio: np.ndarray | None, first: bool, started: float
    ) -> bool:
        """Voice one clause (unless cached) and queue it; returns whether the next clause is still the first."""
        hit = audio is not None
        if audio is None:
            audio, hit = await self._audio_for(clause)
        if first:
            self._note_first_audio(frame, started)
            self._log.event(
                "tts_first_audio",
                line=frame.kind,
                turn=frame.turn,
                cached=hit,
                ms=round((time.monotonic() - started) * 1000.0, 1),
                clause=clause,
            )
        self._ledger.clause(clause, int(audio.size))
        await self.push_frame(TTSAudioRawFrame(audio=audio.tobytes(), sample_rate=self._rate, num_channels=1))
        return False

    def _extend(self, frame: AgentSayFrame, part: str) -> None:
        """A streamed line arrived: it belongs to this turn's text, transcript line and record."""
        record = self._log.turns[-1] if self._log.turns else None
        if record is not None and record.index == frame.turn and record.reply == frame.text:
            record.reply = f"{record.reply} {part}".strip()
        frame.text = f"{frame.text} {part}".strip()
        self._ledger.text = frame.text
        if frame.record is not None:
            frame.record["text"] = frame.text
            self._log.changed(frame.record)

    async def _speak(self, frame: AgentSayFrame) -> None:
        self._ledger.start(frame.text)
        if not frame.text.strip():
            await self.push_frame(frame)
            return
        started = time.monotonic()
        await self.push_frame(TTSStartedFrame())
        first = True
        for part in frame.lines or [frame.text]:
            whole = self._cache.get(part)
            pieces: list[tuple[str, np.ndarray | None]] = (
                [(part, whole)] if whole is not None else [(c, None) for c in split_clauses(part)]
            )
            for clause, audio in pieces:
                first = await self._play(frame, clause, audio, first, started)
        if frame.more is not None:
            async for part in frame.more:
                self._extend(frame, part)
                for clause in split_clauses(part):
                    first = await self._play(frame, clause, None, first, started)
        await self.push_frame(TTSStoppedFrame())
        # Pass the line on so whoever ends the call knows the last words are queued.
        await self.push_frame(frame)
