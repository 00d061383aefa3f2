"""The conversation side of a call: listen first, answer each turn, reprompt on silence, end the call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from pipecat.frames.frames import BotStartedSpeakingFrame, BotStoppedSpeakingFrame, Frame, StartFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from talktrack.brain.base import Brain, Reply
from talktrack.calls.frames import AgentSayFrame, ProspectOnsetFrame, ProspectTurnFrame, TurnRetractedFrame
from talktrack.calls.ledger import SpeechLedger
from talktrack.calls.record import CallLog, TurnRecord


class Responder(FrameProcessor):
    """Asks the brain what to say and queues it for the speaker.

    Phases: *listening* until the prospect speaks (the opener waits for their
    "Hello?", or follows a hello line after ``listen_first_s`` of silence), then
    *talking*; a reply with ``end_call`` is the last line.
    """

    def __init__(
        self,
        *,
        brain: Brain,
        log: CallLog,
        ledger: SpeechLedger,
        listen_first_s: float,
        reprompt_after_s: float,
        end_call: Callable[[str], Awaitable[None]],
        hold_after_s: float = 0.7,
        may_greet: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(name="responder")
        self._brain = brain
        self._log = log
        self._ledger = ledger
        self._listen_first_s = listen_first_s
        self._reprompt_after_s = reprompt_after_s
        self._hold_after_s = hold_after_s
        self._end_call = end_call
        self._may_greet = may_greet  # the screener's say on the listen-first hello (not over a tone)
        self._opened = False
        self._prospect_spoke = False
        self._prospect_speaking = False
        self._bot_speaking = False
        self._silences = 0
        self._timer: asyncio.Task[None] | None = None
        self._turn = 0
        self._agent_line: dict[str, object] | None = None
        self._last_barge_in = False
        self._checkpoint: object | None = None
        self._was_opened = False
        self._deciding = False
        self._late_retract = False
        self._turn_text: str | None = None  # the prospect turn the brain last answered
        self._muted = False  # a machine answered: the screener has the line
        self._hello_waits = 0
        self.outcome: str | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            self._arm(self._listen_first_s, self._hello)
            return
        if self._muted and isinstance(frame, (ProspectOnsetFrame, ProspectTurnFrame, TurnRetractedFrame)):
            return
        if isinstance(frame, ProspectOnsetFrame):
            await self._on_onset(frame)
        elif isinstance(frame, ProspectTurnFrame):
            await self._on_turn(frame)
            return
        elif isinstance(frame, TurnRetractedFrame):
            self._retract(frame.text)
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
            self._cancel_timer()
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
            quiet = not (self._prospect_speaking or self._muted)
            if direction is FrameDirection.UPSTREAM and self._opened and quiet:
                self._arm(self._reprompt_after_s, self._silence)
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await super().cleanup()
        await self._stop_timer()

    async def _stop_timer(self) -> None:
        if self._timer and not self._timer.done():
            await self.cancel_task(self._timer)
        self._timer = None

    # -- timers -----------------------------------------------------------------------------

    def _arm(self, delay: float, action: Callable[[], Awaitable[None]]) -> None:
        self._cancel_timer()

        async def fire() -> None:
            await asyncio.sleep(delay)
            self._timer = None
            await action()

        self._timer = self.create_task(fire(), name="responder-timer")

    def _cancel_timer(self) -> None:
        if self._timer and not self._timer.done():
            self._timer.cancel()
        self._timer = None

    def stand_down(self) -> None:
        """A machine answered after all: no more replies, reprompts or hellos; the screener has the line."""
        self._muted = True
        self._cancel_timer()

    async def leave(self, text: str, *, outcome: str, kind: str = "voicemail") -> None:
        """Say one last line (a voicemail message) and end the call once it has played."""
        self.stand_down()
        self.outcome = outcome
        await self._say_text(text, kind=kind, end_call=True)

    async def _hello(self) -> None:
        if self._prospect_spoke or self._opened or self._muted:
            return
        if self._may_greet is not None and not self._may_greet() and self._hello_waits < 8:
            # Something is sounding on the line (a tone, music): ask again shortly, for up to 4 s.
            self._hello_waits += 1
            self._arm(0.5, self._hello)
            return
        self._log.event("listen_first_timeout")
        await self._say(self._brain.hello(), kind="hello")

    async def _silence(self) -> None:
        if self._prospect_speaking or self._bot_speaking or self._muted:
            return
        self._silences += 1
        self._log.event("silence", count=self._silences)
        await self._say(self._brain.on_silence(self._silences), kind="reprompt")

    # -- prospect ---------------------------------------------------------------------------

    async def _on_onset(self, frame: ProspectOnsetFrame) -> None:
        self._cancel_timer()
        self._prospect_spoke = True
        self._prospect_speaking = True
        self._last_barge_in = frame.barge_in
        if frame.barge_in and self._agent_line is not None:
            heard = self._ledger.heard()
            self._brain.on_interrupted(heard)
            self._agent_line["heard"] = heard
            self._agent_line["interrupted"] = True
            if self._log.turns and self._log.turns[-1].reply == self._ledger.text:
                self._log.turns[-1].barge_in = True
                self._log.turns[-1].heard = heard
            self._log.event("barge_in", heard=heard)

    async def _on_turn(self, frame: ProspectTurnFrame) -> None:
        self._cancel_timer()
        self._prospect_speaking = False
        text = frame.text
        if not text:
            self._log.event("empty_turn", barge_in=self._last_barge_in)
            if self._last_barge_in and self._ledger.unheard():
                # A cough or a door cut the agent off: finish the line instead of dropping it.
                await self._say_text(self._ledger.unheard(), kind="resume")
            elif self._opened and not self._bot_speaking:
                self._arm(self._reprompt_after_s, self._silence)
            return
        self._silences = 0
        self._turn += 1
        self._turn_text = text
        self._log.say("prospect", text, frame.timing.get("speech_end"))
        self._checkpoint, self._was_opened = self._brain.checkpoint(), self._opened
        t0 = time.monotonic()
        if not self._opened:
            reply = self._brain.opener()
        else:
            self._deciding = True
            try:
                reply = await self._respond(text)
            except asyncio.CancelledError:
                # The prospect went on talking (the turn taker's interruption cancelled this turn mid-decision):
                # leave the brain as it was before the turn; the withdrawal that follows finds nothing to undo.
                self._undo_decided_turn()
                raise
            finally:
                self._deciding = False
            if self._late_retract:
                self._undo_decided_turn()
                return
        brain_ms = (time.monotonic() - t0) * 1000.0
        timing = frame.timing
        record = TurnRecord(
            index=self._turn,
            prospect=text,
            reply=reply.text,
            intent=reply.intent,
            speech_end_s=self._log.rel(timing["speech_end"]),
            stt_ms=round(timing["stt_ms"], 1),
            smart_turn_ms=round(timing["smart_turn_ms"], 1),
            smart_turn_p=round(timing["smart_turn_p"], 3),
            endpoint_ms=round((timing["decided"] - timing["speech_end"]) * 1000.0, 1),
            brain_ms=round(brain_ms, 2),
            decision=str(frame.decision.get("reason", "")),
        )
        self._log.turns.append(record)
        self._log.event(
            "brain", ms=round(brain_ms, 2), intent=reply.intent, phase=reply.phase, decision=dict(reply.decision)
        )
        await self._say(reply, kind="reply" if self._opened else "opener")

    async def _streamed(self, more: AsyncIterator[str], frame: AgentSayFrame) -> AsyncIterator[str]:
        """Pass a streamed reply on; once it is complete, learn whether the brain ended the call with it."""
        async for part in more:
            yield part
        outcome = getattr(self._brain, "pending_end", None)
        if outcome:
            self.outcome = str(outcome)
            frame.end_call = True

    async def _respond(self, text: str) -> Reply:
        """Ask the brain; if it is still waiting on a tool (a slow calendar) after ``hold_after_s``, say so."""
        pending = asyncio.ensure_future(self._brain.respond(text))
        try:
            done, _ = await asyncio.wait({pending}, timeout=self._hold_after_s)
            hold_line = getattr(self._brain, "hold_line", None)
            line = hold_line() if not done and hold_line is not None else None
            if line:
                self._log.event("hold", after_ms=round(self._hold_after_s * 1000.0))
                await self._say_text(line, kind="hold")
            return await pending
        finally:
            # Cancelled by an interruption: the brain must not finish this turn behind the caller's back.
            pending.cancel()

    def _undo_decided_turn(self) -> None:
        """The prospect went on talking while the brain was deciding (a booking round trip): drop its reply."""
        self._late_retract = False
        if self._checkpoint is not None:
            self._brain.rollback(self._checkpoint)
        self._checkpoint = None
        self._turn_text = None
        self._opened = self._was_opened
        self.outcome = None
        self._turn -= 1
        for line in reversed(self._log.transcript):
            if line["role"] == "prospect":
                line["retracted"] = True
                break
        self._log.event("retracted_while_deciding")
        self._prospect_speaking = True

    def _retract(self, text: str) -> None:
        """Undo the last turn: the brain's state, its transcript lines and its timings."""
        self._cancel_timer()
        if text != self._turn_text:
            # That turn never reached the brain (the interruption before this frame flushed it): nothing to undo.
            self._prospect_speaking = True
            return
        if self._deciding:
            self._late_retract = True  # undone once the brain returns; its state is not ours to touch now
            return
        if self._checkpoint is None:
            return
        self._brain.rollback(self._checkpoint)
        self._checkpoint = None
        self._turn_text = None
        self._opened = self._was_opened
        self.outcome = None
        self._turn -= 1
        if self._log.turns:
            self._log.turns.pop()
        for line in reversed(self._log.transcript):
            if line["role"] == "prospect":
                line["retracted"] = True
                break
        if self._agent_line is not None:
            self._agent_line["retracted"] = True
            self._agent_line["heard"] = self._ledger.heard()
            self._log.changed(self._agent_line)
        self._prospect_speaking = True

    # -- agent ------------------------------------------------------------------------------

    async def _say(self, reply: Reply, *, kind: str) -> None:
        self._opened = self._opened or kind in ("opener", "hello", "reply")
        if reply.outcome:
            self.outcome = reply.outcome
        end_call = reply.action == "end_call"
        await self._say_text(reply.text, kind=kind, end_call=end_call, lines=reply.lines, more=reply.more)

    async def _say_text(
        self,
        text: str,
        *,
        kind: str,
        end_call: bool = False,
        lines: list[str] | None = None,
        more: AsyncIterator[str] | None = None,
    ) -> None:
        self._agent_line = self._log.say("agent", text, kind=kind)
        frame = AgentSayFrame(text=text, kind=kind, turn=self._turn, end_call=end_call, lines=lines or [text])
        if more is not None:
            frame.more, frame.record = self._streamed(more, frame), self._agent_line
        await self.push_frame(frame)
        if not text and end_call:
            await self._end_call(self.outcome or "completed")
