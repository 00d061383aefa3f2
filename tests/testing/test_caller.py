"""The scripted caller's ground-truth timings, checked against a stand-in agent with known delays."""

import asyncio
import time

import numpy as np
import pytest

from talktrack.audio.g711 import ulaw_decode, ulaw_encode
from talktrack.audio.levels import is_audible
from talktrack.telephony.simline import FRAME_BYTES, FRAME_S, LineClosed, SimLine
from talktrack.testing.caller import ScriptedCaller
from talktrack.testing.scenario import Say, Scenario, WaitAgent

RATE = 8000


def tone(seconds: float, hz: float = 300.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 8000).astype(np.int16)


def voice(text: str) -> np.ndarray:
    # 0.2 s of line silence either side, like a synthesized sentence.
    return np.concatenate([np.zeros(1600, np.int16), tone(0.6), np.zeros(1600, np.int16)])


async def stand_in_agent(line, reply_delay_s: float, reply_s: float, stop_after_onset_s: float | None = None):
    """Replies ``reply_delay_s`` after the prospect's audio goes quiet; stops when interrupted."""
    last_loud = None
    speaking_until = 0.0
    next_send = time.monotonic()
    reply = ulaw_encode(tone(reply_s, 500))
    pos = None
    interrupted_at = None
    try:
        while True:
            payload, t = await line.recv()
            loud = is_audible(ulaw_decode(payload))
            now = time.monotonic()
            if loud:
                if pos is not None and interrupted_at is None and stop_after_onset_s is not None:
                    interrupted_at = t
                last_loud = t + FRAME_S
            if interrupted_at is not None and t - interrupted_at >= stop_after_onset_s:
                pos, interrupted_at = None, None
                line.clear()
            if (
                pos is None
                and last_loud
                and not loud
                and t + FRAME_S - last_loud >= reply_delay_s
                and speaking_until < now
            ):
                pos = 0
                last_loud = None
            while pos is not None and pos < len(reply) and next_send <= now + 0.04:
                line.send(reply[pos : pos + FRAME_BYTES])
                pos += FRAME_BYTES
                next_send = max(next_send, now) + FRAME_S
            if pos is not None and pos >= len(reply):
                pos = None
    except LineClosed:
        return


async def test_voice_to_voice_is_measured_from_the_audio():
    line = SimLine()
    scenario = Scenario(
        name="t", steps=[Say(say="hello"), WaitAgent(quiet_ms=300), Say(say="second"), WaitAgent(quiet_ms=300)]
    )
    caller = ScriptedCaller(scenario, line.caller, voice)
    agent = asyncio.create_task(stand_in_agent(line.agent, reply_delay_s=0.25, reply_s=0.5))
    report = await caller.run()
    agent.cancel()
    assert report.failures == []
    assert len(report.v2v_ms) == 2
    for v in report.v2v_ms:
        # The stand-in decides on 20 ms frames, so truth is 250 ms within a frame or two.
        assert 230 <= v <= 300, report.v2v_ms
    assert len(report.agent) == 2


async def test_barge_in_stop_time_is_measured_from_the_prospects_onset():
    line = SimLine()
    scenario = Scenario(
        name="b",
        steps=[Say(say="hello"), Say(say="wait", barge_in_after_ms=400), WaitAgent(quiet_ms=300)],
    )
    caller = ScriptedCaller(scenario, line.caller, voice)
    agent = asyncio.create_task(stand_in_agent(line.agent, reply_delay_s=0.2, reply_s=3.0, stop_after_onset_s=0.15))
    report = await caller.run()
    agent.cancel()
    barge = report.bargein_ms
    assert len(barge) == 1
    assert 120 <= barge[0] <= 260, barge


async def test_the_agent_hanging_up_ends_the_script_with_a_note():
    line = SimLine()
    scenario = Scenario(name="h", steps=[Say(say="hello"), WaitAgent(timeout_s=5), Say(say="still there?")])
    caller = ScriptedCaller(scenario, line.caller, voice)

    async def rude_agent():
        await line.agent.recv()
        line.agent.hangup()

    agent = asyncio.create_task(rude_agent())
    report = await caller.run()
    await agent
    assert report.hung_up_by == "agent"
    assert any("hung up" in f for f in report.failures)


def test_silent_clip_is_rejected_before_the_call():
    from talktrack.errors import MediaError

    scenario = Scenario(name="s", steps=[Say(say="...")])
    caller = ScriptedCaller(scenario, SimLine().caller, lambda text: np.zeros(800, np.int16))
    with pytest.raises(MediaError, match="silent"):
        caller.prepare()
