"""A Pipecat transport over any 8 kHz μ-law line end (the simulated line, later RTP and media streams).

Input decodes 20 ms μ-law frames and pushes them as audio at the pipeline's rate.
Output paces agent audio to real time with a small lead, so an interruption only
has to flush what the line holds (``clear``), never seconds of queued speech.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import numpy as np
from loguru import logger
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from talktrack.audio.g711 import ulaw_decode, ulaw_encode
from talktrack.audio.resample import StreamResampler
from talktrack.telephony.simline import FRAME_BYTES, FRAME_S, RATE, LineClosed


class LineEndLike(Protocol):
    """What the transport needs from a line: 20 ms μ-law frames both ways."""

    def send(self, payload: bytes) -> None: ...
    async def recv(self) -> tuple[bytes, float]: ...
    def clear(self) -> int: ...
    def hangup(self) -> None: ...


class AudioTap(Protocol):
    """Receives both directions of a call's audio as it crosses the transport (the recorder)."""

    def prospect(self, pcm: np.ndarray, t: float) -> None: ...
    def agent(self, pcm: np.ndarray, t: float) -> None: ...


class LineInput(BaseInputTransport):
    """Reads the prospect's frames from the line and pushes them into the pipeline."""

    def __init__(self, transport: LineTransport, params: TransportParams, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self._transport = transport
        self._task: asyncio.Task[None] | None = None
        self._resampler: StreamResampler | None = None

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        self._resampler = StreamResampler(RATE, self.sample_rate)
        await self.set_transport_ready(frame)
        if not self._task:
            self._task = self.create_task(self._receive())

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._stop_task()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._stop_task()

    async def _stop_task(self) -> None:
        if self._task:
            await self.cancel_task(self._task)
            self._task = None

    async def _receive(self) -> None:
        line = self._transport.line
        assert self._resampler is not None
        while True:
            try:
                payload, t = await line.recv()
            except LineClosed:
                await self._transport.far_end_hung_up()
                return
            pcm = ulaw_decode(payload)
            if self._transport.tap:
                self._transport.tap.prospect(pcm, t)
            audio = self._resampler.process(pcm)
            if audio.size:
                await self.push_audio_frame(
                    InputAudioRawFrame(audio=audio.tobytes(), sample_rate=self.sample_rate, num_channels=1)
                )


class LineOutput(BaseOutputTransport):
    """Writes agent audio to the line at the speaking rate, a little ahead of real time."""

    def __init__(self, transport: LineTransport, params: TransportParams, lead_s: float, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self._transport = transport
        self._lead_s = lead_s
        self._next_send = 0.0
        self._pending = np.zeros(0, dtype=np.int16)
        self._resampler: StreamResampler | None = None

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        self._resampler = StreamResampler(self.sample_rate, RATE)
        await self.set_transport_ready(frame)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            dropped = self._transport.line.clear()
            self._pending = np.zeros(0, dtype=np.int16)
            self._next_send = 0.0
            logger.debug(f"{self}: interruption, {dropped} frames cleared from the line")

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        assert self._resampler is not None
        pcm = np.frombuffer(frame.audio, dtype=np.int16)
        pcm = self._resampler.process(pcm)
        self._pending = np.concatenate([self._pending, pcm])
        line = self._transport.line
        while self._pending.size >= FRAME_BYTES:
            chunk, self._pending = self._pending[:FRAME_BYTES], self._pending[FRAME_BYTES:]
            now = time.monotonic()
            if self._next_send < now:
                self._next_send = now
            wait = self._next_send - self._lead_s - now
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                line.send(ulaw_encode(chunk))
            except LineClosed:
                return False
            if self._transport.tap:
                self._transport.tap.agent(chunk, self._next_send)
            self._next_send += FRAME_S
        return True


class LineTransport(BaseTransport):
    """Pipecat transport for one call over a :class:`LineEndLike`."""

    def __init__(
        self,
        line: LineEndLike,
        *,
        sample_rate: int = RATE,
        lead_s: float = 0.04,
        tap: AudioTap | None = None,
        on_hangup: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__()
        self.line = line
        self.tap = tap
        self._on_hangup = on_hangup
        params = TransportParams(
            audio_in_enabled=True,
            audio_in_sample_rate=sample_rate,
            audio_out_enabled=True,
            audio_out_sample_rate=sample_rate,
            audio_out_10ms_chunks=2,
            audio_out_end_silence_secs=0,
        )
        self._input = LineInput(self, params, name="line-in")
        self._output = LineOutput(self, params, lead_s, name="line-out")

    def input(self) -> LineInput:
        return self._input

    def output(self) -> LineOutput:
        return self._output

    async def far_end_hung_up(self) -> None:
        """The prospect hung up: tell the call."""
        if self._on_hangup:
            await self._on_hangup()
