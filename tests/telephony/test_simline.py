import asyncio
import time

import pytest

from talktrack.telephony.simline import FRAME_BYTES, FRAME_S, LineClosed, LineConditions, SimLine


def frame(i: int) -> bytes:
    return bytes([i % 256]) * FRAME_BYTES


async def test_frames_sent_in_a_burst_play_at_the_speaking_rate():
    line = SimLine()
    for i in range(5):
        line.agent.send(frame(i))
    got = [await line.caller.recv() for _ in range(5)]
    assert [p[0] for p, _ in got] == [0, 1, 2, 3, 4]
    gaps = [b[1] - a[1] for a, b in zip(got, got[1:], strict=False)]
    assert all(abs(g - FRAME_S) < 1e-6 for g in gaps)


async def test_latency_delays_playout():
    line = SimLine(to_caller=LineConditions(latency_ms=60))
    sent = time.monotonic()
    line.agent.send(frame(1))
    _, play_at = await line.caller.recv()
    assert play_at - sent >= 0.059


async def test_clear_drops_what_the_far_end_has_not_heard():
    line = SimLine()
    for i in range(50):
        line.agent.send(frame(i))
    await line.caller.recv()
    dropped = line.agent.clear()
    assert dropped == 49
    line.agent.send(frame(99))
    payload, _ = await asyncio.wait_for(line.caller.recv(), 1.0)
    assert payload[0] == 99


async def test_loss_drops_a_share_of_frames_deterministically():
    line = SimLine(to_caller=LineConditions(loss=0.5, seed=3))
    for i in range(200):
        line.agent.send(frame(i))
    assert 60 < line.agent.stats["lost"] < 140
    assert line.agent.stats["sent"] == 200


async def test_hangup_delivers_in_flight_frames_then_closes():
    line = SimLine()
    line.caller.send(frame(7))
    line.caller.hangup()
    payload, _ = await line.agent.recv()
    assert payload[0] == 7
    with pytest.raises(LineClosed):
        await asyncio.wait_for(line.agent.recv(), 1.0)
    with pytest.raises(LineClosed):
        line.caller.send(frame(8))
    assert line.agent.far_end_hung_up
