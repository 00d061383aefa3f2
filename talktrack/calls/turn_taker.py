"""Turn taking: VAD onsets trigger barge-in; every pause starts STT and Smart Turn speculatively.

The transcript of a pause is reused when the turn ends there, so a finished turn
costs one VAD stop (~160 ms) plus the slower of STT and Smart Turn, both already
running in worker threads. Smart Turn alone calls short answers ("Hello?") and
spelled-out data incomplete; the transcript breaks those ties (a question mark,
or a short complete phrase) and a bounded wait covers the rest.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from talktrack.audio.resample import float_at
from talktrack.calls.frames import ProspectOnsetFrame, ProspectTurnFrame, TurnRetractedFrame
from talktrack.calls.record import CallLog
from talktrack.speech.endpointing import Endpointer, EndpointSettings, EventKind, SpeechEvent
from talktrack.speech.smart_turn import MODEL_RATE, SmartTurn
from talktrack.speech.stt_whisper import WhisperSTT

# Words after which a phrase is rarely finished, whatever its punctuation.
_DANGLING = re.compile(r"\b(and|or|but|so|because|the|a|an|to|of|with|um|uh|like|my|our|is|at)[.,]?$", re.I)


@dataclass(frozen=True)
class TurnPolicy:
    """When a pause ends the turn."""

    smart_turn_threshold: float = 0.5
    short_answer_words: int = 4
    max_wait_s: float = 0.7
    # A finished-looking sentence that Smart Turn doubts gets this much more silence, not the full wait.
    sentence_wait_s: float = 0.25
    # A lone lead-in word ("Sure," "Well," "Sorry,") usually starts a sentence: wait this much more,
    # whatever Smart Turn says, rather than talk over the rest of it.
    lead_in_wait_s: float = 0.2
    # Speech resuming this soon after a taken turn continues that turn (a mid-sentence pause).
    continuation_s: float = 0.8


_LEAD_INS = frozenset(
    "sure yes yeah yep well so okay ok sorry no right um uh and but oh hmm alright look honestly actually".split()
)


def is_lead_in(text: str) -> bool:
    """A single word that more often opens a sentence than answers one on its own."""
    words = re.findall(r"[a-z']+", text.lower())
    return len(words) == 1 and words[0] in _LEAD_INS and not text.strip().endswith("?")


def looks_like_sentence(text: str) -> bool:
    """Final punctuation and no dangling word: probably finished, though not certainly."""
    stripped = text.strip()
    return bool(stripped) and stripped[-1] in ".!?" and not _DANGLING.search(stripped)


def transcript_says_done(text: str, policy: TurnPolicy) -> str | None:
    """A reason the transcript alone ends the turn, or None."""
    stripped = text.strip()
    if not stripped or _DANGLING.search(stripped):
        return None
    if stripped.endswith("?"):
        return "question"
    if stripped[-1] in ".!" and len(stripped.split()) <= policy.short_answer_words:
        return "short_answer"
    return None


class TurnTaker(FrameProcessor):
    """Consumes the prospect's audio; emits onsets (barge-in) and finished turns."""

    def __init__(
        self,
        *,
        stt: WhisperSTT,
        smart_turn: SmartTurn,
        log: CallLog,
        rate: int,
        endpoint: EndpointSettings | None = None,
        policy: TurnPolicy | None = None,
        language: str = "en",
    ) -> None:
        super().__init__(name="turn-taker")
        self._stt = stt
        self._smart_turn = smart_turn
        self._log = log
        self._rate = rate
        self._policy = policy or TurnPolicy()
        self._language = language
        self._vad = SileroVADAnalyzer(sample_rate=rate)
        self._vad.set_sample_rate(rate)
        self._endpointer = Endpointer(rate, self._vad.voice_confidence, endpoint)
        self._bot_speaking = False
        self._reply_pending = False
        self._utterance = 0
        self._spec: asyncio.Task[None] | None = None
        self._onset_t = 0.0
        self._barge_in = False
        # The last committed turn: (speech end time, its audio, where that audio started, its text).
        self._last_turn: tuple[float, np.ndarray, int, str] | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self._on_audio(frame)
            return
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
            self._reply_pending = False
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
        await self.push_frame(frame, direction)

    async def restart(self) -> None:
        """Forget the utterance in progress: what is said from now on is a new turn, with its own onset.

        The screener calls this once it has pressed keys on a phone menu: the menu's long speech before
        them is no turn of a person's, and whoever picks up next must be heard from their first word.
        """
        await self._cancel_speculation()
        self._endpointer.commit()
        self._last_turn = None
        self._log.event("listening_restarted")

    async def _on_audio(self, frame: InputAudioRawFrame) -> None:
        now = time.monotonic()
        pcm = np.frombuffer(frame.audio, dtype=np.int16)
        for event in self._endpointer.feed(pcm):
            # Stamp events back to when their audio arrived, not when we noticed.
            t = now - (self._endpointer.position - event.at) / self._rate
            await self._on_event(event, t)

    def _to_time(self, sample: int, t_at: float, at: int) -> float:
        return t_at - (at - sample) / self._rate

    async def _on_event(self, event: SpeechEvent, t: float) -> None:
        if event.kind is EventKind.ONSET:
            self._utterance += 1
            onset = self._to_time(event.mark, t, event.at)
            if self._last_turn and onset - self._last_turn[0] <= self._policy.continuation_s:
                await self._continue_last_turn(t)
                return
            self._onset_t = onset
            self._barge_in = self._bot_speaking or self._reply_pending
            if self._barge_in:
                await self.broadcast_interruption()
                self._reply_pending = False
            self._log.event("vad_onset", t, barge_in=self._barge_in)
            await self.push_frame(ProspectOnsetFrame(at=self._onset_t, barge_in=self._barge_in))
        elif event.kind is EventKind.PAUSE:
            speech_end = self._to_time(event.mark, t, event.at)
            self._log.event("vad_pause", t, speech_end=self._log.rel(speech_end))
            await self._cancel_speculation()
            audio = self._endpointer.utterance()
            self._spec = self.create_task(self._speculate(self._utterance, audio, speech_end, t))
        elif event.kind is EventKind.RESUME:
            self._log.event("vad_resume", t)
            await self._cancel_speculation()

    async def _continue_last_turn(self, t: float) -> None:
        """The prospect only paused: cancel the reply, undo the turn, and keep listening to all of it."""
        assert self._last_turn is not None
        _, audio, start, text = self._last_turn
        self._last_turn = None
        await self.broadcast_interruption()
        self._reply_pending = False
        self._endpointer.prepend(audio, start)
        self._log.event("continuation", t, retracted=text)
        await self.push_frame(TurnRetractedFrame(text=text))

    async def _cancel_speculation(self) -> None:
        if self._spec and not self._spec.done():
            await self.cancel_task(self._spec)
        self._spec = None

    async def _speculate(self, utterance: int, audio8k: np.ndarray, speech_end: float, paused_at: float) -> None:
        audio = float_at(audio8k, self._rate, MODEL_RATE)
        started = time.monotonic()

        async def timed(fn: Any, *args: Any) -> tuple[Any, float]:
            t = time.monotonic()
            result = await asyncio.to_thread(fn, *args)
            return result, (time.monotonic() - t) * 1000.0

        (stt, stt_ms), (prob, st_ms) = await asyncio.gather(
            timed(self._stt.transcribe, audio, self._language), timed(self._smart_turn.predict, audio)
        )
        text = stt.text.strip()
        reason = "smart_turn" if prob >= self._policy.smart_turn_threshold else transcript_says_done(text, self._policy)
        self._log.event(
            "speculation",
            text=text,
            stt_ms=round(stt_ms, 1),
            smart_turn_p=round(prob, 3),
            smart_turn_ms=round(st_ms, 1),
            fallback=stt.used_fallback,
            reason=reason or "wait",
        )
        if is_lead_in(text):
            reason, limit = "lead_in_wait", self._policy.lead_in_wait_s
        elif reason is None and looks_like_sentence(text):
            reason, limit = "sentence_wait", self._policy.sentence_wait_s
        elif reason is None:
            reason, limit = "max_wait", self._policy.max_wait_s
        else:
            limit = 0.0
        wait = paused_at + limit - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if utterance != self._utterance:
            return
        self._last_turn = (
            (speech_end, self._endpointer.utterance(), self._endpointer.utterance_start, text) if text else None
        )
        self._endpointer.commit()
        self._spec = None
        decided = time.monotonic()
        self._log.event("end_of_turn", decided, reason=reason, text=text)
        timing = {
            "onset": self._onset_t,
            "speech_end": speech_end,
            "paused": paused_at,
            "spec_started": started,
            "decided": decided,
            "stt_ms": stt_ms,
            "smart_turn_ms": st_ms,
            "smart_turn_p": prob,
        }
        # A reply is on its way: an onset before it plays must cancel it.
        self._reply_pending = bool(text)
        decision = {"reason": reason, "barge_in": self._barge_in, "fallback": stt.used_fallback}
        await self.push_frame(ProspectTurnFrame(text=text, timing=timing, decision=decision))
