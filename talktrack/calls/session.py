"""CallSession: one call from answer to hang-up, on any line transport."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import numpy as np
from loguru import logger
from pipecat.frames.frames import EndFrame, Frame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from talktrack.brain.base import Brain
from talktrack.brain.context import CallContext
from talktrack.calls.agent import Agent
from talktrack.calls.brains import build_brain
from talktrack.calls.engines import SpeechEngines
from talktrack.calls.frames import AgentSayFrame
from talktrack.calls.ivr import IvrGoal
from talktrack.calls.ledger import SpeechLedger
from talktrack.calls.machine_ears import MachineEars
from talktrack.calls.record import CallLog
from talktrack.calls.recorder import CallRecorder
from talktrack.calls.responder import Responder
from talktrack.calls.screener import Screener, ToneWatch, VoicemailPolicy
from talktrack.calls.speaker import Speaker
from talktrack.calls.turn_taker import TurnPolicy, TurnTaker
from talktrack.settings import Settings
from talktrack.speech.endpointing import EndpointSettings
from talktrack.telephony.line_transport import LineEndLike, LineTransport
from talktrack.telephony.simline import RATE
from talktrack.tools.services import Office, office_for


class _Tap:
    """Feeds line audio to the recorder and played samples to the ledger."""

    def __init__(self, recorder: CallRecorder, ledger: SpeechLedger) -> None:
        self._recorder = recorder
        self._ledger = ledger

    def prospect(self, pcm: np.ndarray, t: float) -> None:
        self._recorder.prospect(pcm, t)

    def agent(self, pcm: np.ndarray, t: float) -> None:
        self._recorder.agent(pcm, t)
        self._ledger.played(pcm.size)


class _LastLine(FrameProcessor):
    """After the output: sees each agent line once its audio is on the line; ends the call after the last."""

    def __init__(self, session: CallSession) -> None:
        super().__init__(name="last-line")
        self._session = session

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, AgentSayFrame) and frame.end_call:
            await self._session.end(self._session.responder.outcome or "completed", grace_s=0.3)
        await self.push_frame(frame, direction)


class CallSession:
    """Builds the pipeline for an agent + context on a line and runs it until someone hangs up."""

    def __init__(
        self,
        agent: Agent,
        context: CallContext,
        line: LineEndLike,
        engines: SpeechEngines,
        settings: Settings,
        *,
        brain_factory: Callable[[Agent, CallContext], Brain] | None = None,
        office: Office | None = None,
        max_duration_s: float = 600.0,
        screen: bool = True,
        answered_by: str | None = None,
    ) -> None:
        self.agent = agent
        self.context = context
        self.line = line
        self.engines = engines
        self.settings = settings
        self.max_duration_s = max_duration_s
        self.screen = screen  # outbound calls: find out who answered (a person, voicemail, a menu) first
        self.answered_by = answered_by  # the carrier's own answering-machine verdict, when it has one
        self.log = CallLog(agent=agent.agent_id, context=_context_dict(context))
        self.ledger = SpeechLedger()
        self.recorder = CallRecorder(self.log.t0)
        self.office = office or office_for(settings)
        self._brain_factory = brain_factory or self._default_brain
        self.brain = self._brain_factory(agent, context)
        self.cache = agent.phrase_cache(settings.data_dir, engines.tts, RATE)
        self._task: PipelineWorker | None = None
        self._warming: asyncio.Task[int] | None = None
        self._ended = False
        self.responder = Responder(
            brain=self.brain,
            log=self.log,
            ledger=self.ledger,
            listen_first_s=settings.listen_first_s,
            reprompt_after_s=settings.reprompt_after_s,
            hold_after_s=settings.hold_after_s,
            end_call=self.end,
            may_greet=self._may_greet if screen else None,
        )
        self._turn_taker: TurnTaker | None = None
        self._tone_watch = ToneWatch(RATE)
        self._screener_proc = self._screener() if screen else None
        self._ears = MachineEars(self.engines.stt, RATE, active=self._wants_words)

    async def _restart_listening(self) -> None:
        if self._turn_taker is not None:
            await self._turn_taker.restart()

    def _wants_words(self) -> bool:
        return self._screener_proc is not None and self._screener_proc.wants_words()

    def _may_greet(self) -> bool:
        screener = self._screener_proc
        return screener is None or screener.may_greet()

    def _default_brain(self, agent: Agent, context: CallContext) -> Brain:
        send_dtmf = getattr(self.line, "send_dtmf", None)
        return build_brain(
            agent, context, call_id=self.log.call_id, settings=self.settings, office=self.office, send_dtmf=send_dtmf
        )

    async def prepare(self, *, all_phrases: bool = False) -> None:
        """Work done while the phone rings: the personalised opener, then the agent's fixed phrases.

        Only the opener is needed to answer. Fixed phrases missing from the cache (an agent's first
        call: the cache persists) keep being synthesized in the background unless ``all_phrases``.
        """
        started = time.monotonic()
        # A throwaway brain: asking for the opener must not move this call's conversation on.
        opener = self._brain_factory(self.agent, self.context).opener()
        lines = opener.lines + ([self.voicemail_message] if self.screen else [])
        synthesized = await self._synthesize(lines)
        if all_phrases:
            synthesized += await self._synthesize(self.agent.playbook.fixed_lines())
        else:
            self._warming = asyncio.create_task(self._synthesize(self.agent.playbook.fixed_lines()))
        self.log.event("prepared", synthesized=synthesized, ms=round((time.monotonic() - started) * 1000.0, 1))

    async def _synthesize(self, lines: list[str]) -> int:
        """Load the lines into the phrase cache, voicing the missing ones, one at a time; returns how many voiced."""

        def synth(text: str) -> np.ndarray:
            return self.engines.tts.synthesize_at(text, RATE)

        voiced = 0
        for line in dict.fromkeys(lines):
            voiced += await asyncio.to_thread(self.cache.warm, [line], synth)
        return voiced

    async def run(self) -> CallLog:
        """Run the call to its end and return the record (also after errors)."""
        transport = LineTransport(
            self.line, sample_rate=RATE, tap=_Tap(self.recorder, self.ledger), on_hangup=self._far_hangup
        )
        s = self.settings
        turn_taker = TurnTaker(
            stt=self.engines.stt,
            smart_turn=self.engines.smart_turn,
            log=self.log,
            rate=RATE,
            endpoint=EndpointSettings(start_s=s.vad_start_s, stop_s=s.vad_stop_s),
            policy=TurnPolicy(max_wait_s=s.turn_max_wait_s),
            language=self.context.language,
        )
        self._turn_taker = turn_taker
        speaker = Speaker(tts=self.engines.tts, cache=self.cache, ledger=self.ledger, log=self.log, rate=RATE)
        listening: list[FrameProcessor] = [turn_taker]
        if self._screener_proc is not None:
            listening = [self._tone_watch, self._ears, turn_taker, self._screener_proc]
        pipeline = Pipeline(
            [transport.input(), *listening, self.responder, speaker, transport.output(), _LastLine(self)]
        )
        self._task = PipelineWorker(
            pipeline,
            params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
            idle_timeout_secs=None,
            enable_rtvi=False,
            check_dangling_tasks=False,
        )
        self.log.event("answered")
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(self._task)
        digits = asyncio.create_task(self._log_digits())
        try:
            await asyncio.wait_for(runner.run(), self.max_duration_s)
        except TimeoutError:
            self.log.event("max_duration")
            self.log.outcome = "max_duration"
        finally:
            digits.cancel()
            self.line.hangup()
            close = getattr(self.brain, "aclose", None)
            if close is not None:
                await close()
            if self._warming is not None:
                self._warming.cancel()  # what it synthesized so far stays in the cache
            self.log.ended_at = time.time()
            if self.log.outcome == "in_progress":
                self.log.outcome = self.responder.outcome or "completed"
        return self.log

    @property
    def voicemail_message(self) -> str:
        playbook = self.agent.playbook
        return playbook.render(playbook.voicemail_message, self.context)

    def _screener(self) -> Screener:
        playbook, context = self.agent.playbook, self.context
        policy = VoicemailPolicy(
            action=playbook.voicemail.action,
            message=self.voicemail_message,
            leave_after_silence_s=playbook.voicemail.leave_after_silence_s,
        )
        goal = IvrGoal(
            contact_name=context.prospect_name,
            extension=context.extra.get("extension", ""),
            language=context.language,
        )

        async def leave_message(text: str) -> None:
            await self.responder.leave(text, outcome="voicemail")

        return Screener(
            log=self.log,
            voicemail=policy,
            ivr_goal=goal,
            send_keys=getattr(self.line, "send_dtmf", None),
            leave_message=leave_message,
            end_call=self.end,
            stand_down=self.responder.stand_down,
            last_sound=lambda: self._tone_watch.last_sound,
            restart_listening=self._restart_listening,
            words_pending=lambda: self._ears.busy,
            carrier_answered_by=self.answered_by,
        )

    async def _log_digits(self) -> None:
        """Keys the prospect pressed (lines that carry DTMF have a ``digits`` queue) go into the record."""
        queue: asyncio.Queue[str] | None = getattr(self.line, "digits", None)
        if queue is None:
            return
        while True:
            self.log.event("dtmf", digit=await queue.get())

    async def end(self, outcome: str, grace_s: float = 0.0) -> None:
        """Hang up from the agent's side after ``grace_s`` (lets the last frames play)."""
        if self._ended:
            return
        self._ended = True
        self.log.outcome = outcome
        self.log.event("agent_hangup", outcome=outcome)
        if grace_s:
            await asyncio.sleep(grace_s)
        self.line.hangup()
        if self._task:
            await self._task.queue_frame(EndFrame())

    async def _far_hangup(self) -> None:
        if self._ended:
            return
        self._ended = True
        self.log.event("prospect_hangup")
        if self.log.outcome == "in_progress":
            self.log.outcome = self.responder.outcome or "prospect_hung_up"
        if self._task:
            await self._task.queue_frame(EndFrame())

    def save(self, directory: Path) -> tuple[Path, Path]:
        """Write the stereo recording and the JSON record under ``directory``; returns both paths."""
        wav = self.recorder.write_wav(directory / f"{self.log.call_id}.wav")
        self.log.recording = str(wav)
        record = self.log.write(directory / f"{self.log.call_id}.json")
        logger.info(f"call {self.log.call_id}: {self.log.outcome}; record {record}")
        return wav, record




def _context_dict(context: CallContext) -> dict[str, object]:
    data: dict[str, object] = {f.name: getattr(context, f.name) for f in fields(context)}
    data["extra"] = dict(context.extra)
    return data
