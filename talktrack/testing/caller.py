"""The scripted prospect: plays a scenario into any line end and measures the agent from the audio.

Timings are ground truth from the caller's side of the line: the prospect's
speech end is the last audible sample it sent, the agent's reply onset is the
first audible sample it heard (at the moment the line plays it). Nothing is
taken from the agent's own logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talktrack.audio.dtmf import DtmfDetector
from talktrack.audio.g711 import ULAW_SILENCE, ulaw_decode, ulaw_encode
from talktrack.audio.levels import is_audible, speech_bounds
from talktrack.audio.resample import resample
from talktrack.errors import MediaError
from talktrack.telephony.line_transport import LineEndLike
from talktrack.telephony.simline import FRAME_BYTES, FRAME_S, RATE, LineClosed
from talktrack.testing.scenario import Hangup, Noise, Say, Scenario, Silence, WaitAgent, WaitKeys
from talktrack.testing.sounds import SOUNDS

# A pause longer than this splits the agent's audio into separate utterances.
AGENT_GAP_S = 0.3
# After a barge-in, the agent counts as stopped once it has been quiet this long.
STOP_GAP_S = 0.2


@dataclass
class Utterance:
    """Something the prospect said (or a noise), with when its audible part was sent."""

    step: int
    text: str
    kind: str  # "say" | "noise"
    start: float = 0.0
    end: float = 0.0
    barge_in: bool = False
    expect: str | None = None


@dataclass
class AgentSegment:
    """A stretch of agent speech as heard by the prospect."""

    start: float
    end: float
    text: str = ""


@dataclass
class TurnMeasure:
    """Ground-truth timings of one prospect utterance."""

    step: int
    text: str
    v2v_ms: float | None = None
    bargein_stop_ms: float | None = None
    reply: str = ""
    expect: str | None = None
    expect_ok: bool | None = None


@dataclass
class CallerReport:
    """What the scripted prospect saw and measured."""

    scenario: str
    utterances: list[Utterance] = field(default_factory=list)
    agent: list[AgentSegment] = field(default_factory=list)
    turns: list[TurnMeasure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    first_agent_audio_s: float | None = None
    hung_up_by: str = ""
    keys: list[tuple[str, float]] = field(default_factory=list)  # DTMF heard from the agent, when it played

    @property
    def v2v_ms(self) -> list[float]:
        """Voice-to-voice delays of the turns the agent answered."""
        return [t.v2v_ms for t in self.turns if t.v2v_ms is not None]

    @property
    def bargein_ms(self) -> list[float]:
        """Barge-in stop times."""
        return [t.bargein_stop_ms for t in self.turns if t.bargein_stop_ms is not None]


def load_wav_8k(path: Path) -> np.ndarray:
    """Read a mono or stereo 16-bit WAV as 8 kHz int16 (first channel); MediaError names a bad file."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise MediaError(
                    f"{path}: {8 * w.getsampwidth()}-bit audio is not supported",
                    fix="convert to 16-bit PCM WAV (sox in.wav -b 16 out.wav)",
                )
            data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
            channels, rate = w.getnchannels(), w.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise MediaError(f"{path}: not a readable WAV file ({exc})", fix="give a 16-bit PCM WAV file") from exc
    return np.asarray(resample(data[::channels].copy(), rate, RATE), dtype=np.int16)


def check_media(scenario: Scenario) -> None:
    """Read every WAV the scenario plays, so a bad file is reported before any model loads."""
    for step in scenario.steps:
        if isinstance(step, Say) and step.say_wav is not None:
            load_wav_8k(step.say_wav)


class ScriptedCaller:
    """Plays a :class:`Scenario` on a line end in real time and records what it hears."""

    def __init__(
        self,
        scenario: Scenario,
        line: LineEndLike,
        synthesize: Callable[[str], np.ndarray],
        *,
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.line = line
        self._synthesize = synthesize
        self._on_event = on_event or (lambda who, text: None)
        self._clips: dict[int, np.ndarray] = {}
        self._queue: list[tuple[np.ndarray, Utterance]] = []
        self._heard: list[tuple[float, np.ndarray]] = []
        self._last_audible = 0.0
        self.report = CallerReport(scenario.name)
        self._t0 = 0.0
        self._closed = False
        self._busy = False
        self._hung_up = asyncio.Event()
        self._sent_all = asyncio.Event()
        self._keys = DtmfDetector(RATE)
        self._keys_used = 0

    def prepare(self) -> None:
        """Synthesize every line of the scenario up front, so the call runs in real time."""
        for i, step in enumerate(self.scenario.steps):
            if isinstance(step, Say):
                clip = load_wav_8k(step.say_wav) if step.say_wav else self._synthesize(step.say or "")
                if speech_bounds(clip, RATE) is None:
                    raise MediaError(f"step {i}: the prospect's audio is silent", fix="check the text or WAV file")
                self._clips[i] = clip
            elif isinstance(step, Noise):
                self._clips[i] = SOUNDS[step.noise]()

    async def run(self) -> CallerReport:
        """Play the scenario; returns the measurements once the call has ended."""
        if not self._clips and any(isinstance(s, (Say, Noise)) for s in self.scenario.steps):
            self.prepare()
        self._t0 = time.monotonic()
        receiver = asyncio.create_task(self._receive())
        sender = asyncio.create_task(self._send())
        try:
            await self._script()
        finally:
            await self._drain_queue()
            sender.cancel()
            if not self._closed:
                self.report.hung_up_by = self.report.hung_up_by or "prospect"
                self.line.hangup()
            try:
                await asyncio.wait_for(receiver, 5.0)
            except (TimeoutError, asyncio.CancelledError):
                receiver.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        self._analyse()
        return self.report

    # -- line I/O ----------------------------------------------------------------------------

    async def _send(self) -> None:
        next_t = time.monotonic()
        silence = bytes([ULAW_SILENCE]) * FRAME_BYTES
        pending = np.zeros(0, dtype=np.int16)
        current: Utterance | None = None
        pos = 0
        bounds = (0, 0)
        while True:
            if pending.size == 0:
                self._busy = False
                if not self._queue:
                    self._sent_all.set()
            if pending.size == 0 and self._queue:
                self._busy = True
                pending, current = self._queue.pop(0)
                pos = 0
                found = speech_bounds(pending, RATE)
                assert found is not None
                bounds = found
            now = time.monotonic()
            if pending.size and current is not None:
                chunk = pending[:FRAME_BYTES]
                pending = pending[FRAME_BYTES:]
                # Stamp the audible edges by the send time of the frame that carries them.
                if pos <= bounds[0] < pos + FRAME_BYTES:
                    current.start = now + (bounds[0] - pos) / RATE
                    current.barge_in = current.barge_in or self._agent_speaking(now)
                if pos < bounds[1] <= pos + FRAME_BYTES:
                    current.end = now + (bounds[1] - pos) / RATE
                pos += FRAME_BYTES
                if chunk.size < FRAME_BYTES:
                    chunk = np.pad(chunk, (0, FRAME_BYTES - chunk.size))
                payload = ulaw_encode(chunk)
            else:
                payload = silence
            try:
                self.line.send(payload)
            except LineClosed:
                return
            next_t += FRAME_S
            await asyncio.sleep(max(0.0, next_t - time.monotonic()))

    async def _receive(self) -> None:
        try:
            while True:
                payload, play_at = await self.line.recv()
                pcm = ulaw_decode(payload)
                self._heard.append((play_at, pcm))
                for key in self._keys.process(pcm):
                    self.report.keys.append((key, play_at))
                if is_audible(pcm):
                    self._last_audible = play_at + FRAME_S
        except LineClosed:
            if not self.report.hung_up_by:
                self.report.hung_up_by = "agent"
            self._closed = True
            self._hung_up.set()

    def _agent_speaking(self, now: float) -> bool:
        return now - self._last_audible < AGENT_GAP_S

    async def _drain_queue(self) -> None:
        """Wait until everything queued has been sent (or the agent hung up)."""
        if not (self._queue or self._busy) or self._closed:
            return
        waiters = [asyncio.ensure_future(self._sent_all.wait()), asyncio.ensure_future(self._hung_up.wait())]
        _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()

    # -- script ------------------------------------------------------------------------------

    async def _script(self) -> None:
        for i, step in enumerate(self.scenario.steps):
            if self._closed:
                if not isinstance(step, Hangup):
                    self.report.failures.append(f"step {i}: the agent hung up before this step")
                return
            if isinstance(step, Say):
                await self._say(i, step)
            elif isinstance(step, Noise):
                await self._speak(Utterance(i, f"<{step.noise}>", "noise"))
            elif isinstance(step, WaitAgent):
                await self._wait_agent(i, step)
            elif isinstance(step, WaitKeys):
                await self._wait_keys(i, step)
            elif isinstance(step, Silence):
                await self._sleep_or_close(step.silence)
            elif isinstance(step, Hangup):
                await self._drain_queue()
                return

    async def _say(self, i: int, step: Say) -> None:
        utt = Utterance(i, step.say or str(step.say_wav), "say", expect=step.expect)
        if step.barge_in_after_ms is not None:
            since = time.monotonic()
            while not (self._last_audible > since and self._agent_speaking(time.monotonic())) and not self._closed:
                if time.monotonic() - since > 15:
                    self.report.failures.append(f"step {i}: the agent never spoke, so there was nothing to interrupt")
                    return
                await asyncio.sleep(FRAME_S / 2)
            await asyncio.sleep(step.barge_in_after_ms / 1000.0)
            utt.barge_in = True
        await self._speak(utt)

    async def _speak(self, utt: Utterance) -> None:
        self.report.utterances.append(utt)
        self._queue.append((self._clips[utt.step], utt))
        self._busy = True
        self._sent_all.clear()
        self._on_event("prospect", utt.text)
        await self._drain_queue()

    async def _wait_agent(self, i: int, step: WaitAgent) -> None:
        since = time.monotonic()
        heard_some = False
        while not self._closed:
            now = time.monotonic()
            if self._last_audible > since:
                heard_some = True
            if heard_some and now - self._last_audible >= step.quiet_ms / 1000.0:
                return
            if now - since > step.timeout_s:
                self.report.failures.append(f"step {i}: the agent did not speak within {step.timeout_s:g}s")
                return
            await asyncio.sleep(FRAME_S / 2)

    async def _wait_keys(self, i: int, step: WaitKeys) -> None:
        # Keys pressed while the menu was still playing count: a menu is answered as it is read out.
        since, seen = time.monotonic(), self._keys_used
        while not self._closed:
            pressed = "".join(key for key, _ in self.report.keys[seen:])
            if pressed.endswith(step.wait_keys):
                self._keys_used = len(self.report.keys)
                return
            if time.monotonic() - since > step.timeout_s:
                got = f"got {pressed!r}" if pressed else "none pressed"
                wanted = f"keys {step.wait_keys!r} not pressed within {step.timeout_s:g}s"
                self.report.failures.append(f"step {i}: {wanted} ({got})")
                return
            await asyncio.sleep(FRAME_S / 2)

    async def _sleep_or_close(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._hung_up.wait(), seconds)

    # -- analysis ----------------------------------------------------------------------------

    def agent_audio(self) -> tuple[np.ndarray, float]:
        """Everything heard from the agent as one int16 signal, and the time of its first sample."""
        if not self._heard:
            return np.zeros(0, dtype=np.int16), self._t0
        t_first = self._heard[0][0]
        end = int(round((self._heard[-1][0] - t_first) * RATE)) + FRAME_BYTES
        out = np.zeros(end, dtype=np.int16)
        for t, pcm in self._heard:
            pos = int(round((t - t_first) * RATE))
            out[pos : pos + pcm.size] = pcm[: max(0, end - pos)]
        return out, t_first

    def _segments(self) -> list[AgentSegment]:
        audio, t_first = self.agent_audio()
        bounds: list[AgentSegment] = []
        step = RATE // 100  # 10 ms
        n = audio.size // step
        if n == 0:
            return bounds
        frames = audio[: n * step].astype(np.float64).reshape(n, step)
        loud = np.sqrt(np.mean(frames**2, axis=1)) > 32768.0 * 10 ** (-45 / 20)
        start: int | None = None
        last = -1
        for k in np.nonzero(loud)[0]:
            if start is None:
                start = int(k)
            elif (k - last) * 0.01 > AGENT_GAP_S:
                bounds.append(AgentSegment(t_first + start * 0.01, t_first + (last + 1) * 0.01))
                start = int(k)
            last = int(k)
        if start is not None:
            bounds.append(AgentSegment(t_first + start * 0.01, t_first + (last + 1) * 0.01))
        return bounds

    def _analyse(self) -> None:
        segments = self._segments()
        self.report.agent = segments
        if segments:
            self.report.first_agent_audio_s = round(segments[0].start - self._t0, 3)
        spoken = [u for u in self.report.utterances if u.end > 0]
        for k, utt in enumerate(spoken):
            nxt = spoken[k + 1].start if k + 1 < len(spoken) else float("inf")
            m = TurnMeasure(step=utt.step, text=utt.text, expect=utt.expect)
            if utt.barge_in:
                during = [s for s in segments if s.start < utt.start + STOP_GAP_S and s.end > utt.start]
                if during:
                    m.bargein_stop_ms = round(max(0.0, during[-1].end - utt.start) * 1000.0, 1)
            if utt.kind == "say":
                after = [s for s in segments if s.start >= utt.end - 0.05 and s.start < nxt]
                if after:
                    m.v2v_ms = round((after[0].start - utt.end) * 1000.0, 1)
            self.report.turns.append(m)

    def transcribe_agent(self, transcribe: Callable[[np.ndarray], str]) -> None:
        """Transcribe each agent segment (8 kHz int16 in) and check the scenario's expectations."""
        audio, t_first = self.agent_audio()
        for seg in self.report.agent:
            a = int((seg.start - t_first) * RATE)
            b = int((seg.end - t_first) * RATE)
            seg.text = transcribe(audio[a:b]).strip()
        spoken = [u for u in self.report.utterances if u.end > 0]
        for k, (utt, m) in enumerate(zip(spoken, self.report.turns, strict=True)):
            nxt = spoken[k + 1].start if k + 1 < len(spoken) else float("inf")
            m.reply = " ".join(s.text for s in self.report.agent if s.start >= utt.end - 0.05 and s.start < nxt)
            if m.expect:
                m.expect_ok = re.search(m.expect, m.reply, re.I) is not None
                if not m.expect_ok:
                    self.report.failures.append(f"step {m.step}: expected /{m.expect}/ in the reply, heard {m.reply!r}")
