"""The baseline peer: the same brain behind a plain, stock Pipecat pipeline.

Stock parts only: faster-whisper through Pipecat's WhisperSTTService (30 s
window), Pipecat's PiperTTSService (sentence by sentence, no cache), Silero VAD
and the default Smart Turn v3 stop strategy in the user aggregator. STT runs at
16 kHz (stock Whisper garbles 8 kHz pipeline input); the line is the same
8 kHz μ-law SimLine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    EndFrame,
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.workers.runner import WorkerRunner

from talktrack.brain.base import Brain
from talktrack.calls.record import CallLog
from talktrack.speech.tts_piper import default_voice_path
from talktrack.speech.whisper_models import tiny_en_dir
from talktrack.telephony.line_transport import LineEndLike, LineTransport

PIPELINE_RATE = 16000


class BrainAsLLM(FrameProcessor):
    """Answers the aggregator's context with the playbook brain, the way an LLM service would."""

    def __init__(self, brain: Brain, log: CallLog, on_end: asyncio.Event) -> None:
        super().__init__(name="brain-as-llm")
        self._brain = brain
        self._log = log
        self._on_end = on_end
        self._greeted = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        messages = frame.context.get_messages()
        user = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), None)
        text = str(user.get("content", "")) if user else ""
        if not text.strip():
            return
        self._log.say("prospect", text)
        if not self._greeted:
            self._greeted = True
            reply = self._brain.opener()
        else:
            reply = await self._brain.respond(text)
        self._log.say("agent", reply.text)
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame(reply.text))
        await self.push_frame(LLMFullResponseEndFrame())
        if reply.outcome:
            self._log.outcome = reply.outcome
        if reply.action == "end_call":
            self._on_end.set()


class HangupAfterLastLine(FrameProcessor):
    """Hangs up when the bot stops speaking after the brain's last line."""

    def __init__(self, ended: asyncio.Event, hangup: Callable[[], Awaitable[None]]) -> None:
        super().__init__(name="hangup-after-last-line")
        self._ended = ended
        self._hangup = hangup

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, BotStoppedSpeakingFrame) and self._ended.is_set():
            await self._hangup()


async def run_baseline_call(brain: Brain, line: LineEndLike, *, max_duration_s: float = 300.0) -> CallLog:
    """Run one call with the stock pipeline until either side hangs up."""
    log = CallLog(agent="baseline")
    ended = asyncio.Event()
    task_holder: dict[str, PipelineWorker] = {}

    async def hangup_line() -> None:
        line.hangup()
        await hangup()

    async def hangup() -> None:
        if "task" in task_holder:
            await task_holder["task"].queue_frame(EndFrame())

    transport = LineTransport(line, sample_rate=PIPELINE_RATE, on_hangup=hangup)
    stt = WhisperSTTService(
        settings=WhisperSTTService.Settings(model=str(tiny_en_dir())), device="cpu", compute_type="int8"
    )
    voice = default_voice_path()
    tts = PiperTTSService(
        settings=PiperTTSService.Settings(voice=voice.name.removesuffix(".onnx")), download_dir=Path(voice.parent)
    )
    context = LLMContext()
    aggregators = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
    )
    pipeline = Pipeline(
        [
            transport.input(),
            stt,
            aggregators.user(),
            BrainAsLLM(brain, log, ended),
            tts,
            transport.output(),
            HangupAfterLastLine(ended, hangup_line),
            aggregators.assistant(),
        ]
    )
    task = PipelineWorker(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=PIPELINE_RATE, audio_out_sample_rate=PIPELINE_RATE),
        idle_timeout_secs=None,
        enable_rtvi=False,
        check_dangling_tasks=False,
    )
    task_holder["task"] = task

    started = time.monotonic()
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(task)
    try:
        await asyncio.wait_for(runner.run(), max_duration_s)
    except TimeoutError:
        log.outcome = "max_duration"
    finally:
        line.hangup()
        log.ended_at = time.time()
        log.event("baseline_done", seconds=round(time.monotonic() - started, 1))
    return log
