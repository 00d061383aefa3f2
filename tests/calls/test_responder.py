"""The responder with scripted frames: a turn withdrawn while the brain is still deciding is undone."""

from __future__ import annotations

import asyncio
import time

from pipecat.frames.frames import InterruptionFrame
from pipecat.tests.utils import SleepFrame, run_test

from talktrack.brain.base import HistoryTurn, Reply
from talktrack.calls.frames import AgentSayFrame, ProspectTurnFrame, TurnRetractedFrame
from talktrack.calls.ledger import SpeechLedger
from talktrack.calls.record import CallLog
from talktrack.calls.responder import Responder


class SlowBrain:
    """Books on "yes" after a round trip to a calendar; the state is the number of bookings."""

    def __init__(self) -> None:
        self.history: list[HistoryTurn] = []
        self.booked = 0
        self.rollbacks = 0

    def opener(self) -> Reply:
        return Reply("Hi, it's Sarah.", "opener", "continue", None, "opening")

    def hello(self) -> Reply:
        return Reply("Hello?", "hello", "continue", None, "opening")

    async def respond(self, text: str) -> Reply:
        await asyncio.sleep(0.3)  # the calendar
        self.booked += 1
        return Reply(f"Booked ({self.booked}).", "yes", "end_call", "meeting_booked", "ended")

    def on_silence(self, count: int) -> Reply:
        return Reply("Still there?", "silence", "continue", None, "opening")

    def on_interrupted(self, heard: str) -> None:
        pass

    def checkpoint(self) -> object:
        return self.booked

    def rollback(self, state: object) -> None:
        self.rollbacks += 1
        assert isinstance(state, int)
        self.booked = state

    def fixed_lines(self) -> list[str]:
        return []


def turn(text: str) -> ProspectTurnFrame:
    now = time.monotonic()
    timing = {"speech_end": now, "stt_ms": 50.0, "smart_turn_ms": 5.0, "smart_turn_p": 0.9, "decided": now}
    return ProspectTurnFrame(text=text, timing=timing)


def responder_for(brain: SlowBrain, log: CallLog) -> Responder:
    async def end_call(outcome: str) -> None:
        pass

    return Responder(
        brain=brain, log=log, ledger=SpeechLedger(), listen_first_s=5.0, reprompt_after_s=5.0, end_call=end_call
    )


async def test_the_turn_takers_interruption_cancels_a_decision_and_leaves_the_brain_as_it_was() -> None:
    brain = SlowBrain()
    log = CallLog(agent="test", context={})
    down, _ = await run_test(
        responder_for(brain, log),
        frames_to_send=[
            turn("Hello?"),
            SleepFrame(sleep=0.1),
            turn("Yes."),
            SleepFrame(sleep=0.1),
            InterruptionFrame(),  # the prospect goes on talking: the turn taker interrupts, then withdraws
            TurnRetractedFrame(text="Yes."),
            SleepFrame(sleep=0.5),  # the cancelled decision would have finished by now
            turn("Yes. Yes, please."),
            SleepFrame(sleep=0.5),
        ],
    )
    said = [f.text for f in down if isinstance(f, AgentSayFrame)]
    assert said == ["Hi, it's Sarah.", "Booked (1)."]
    assert brain.booked == 1
    assert [t.prospect for t in log.turns] == ["Hello?", "Yes. Yes, please."]


async def test_a_turn_withdrawn_while_the_brain_decides_is_undone_before_anything_is_said() -> None:
    brain = SlowBrain()
    log = CallLog(agent="test", context={})
    ended: list[str] = []

    async def end_call(outcome: str) -> None:
        ended.append(outcome)

    responder = Responder(
        brain=brain, log=log, ledger=SpeechLedger(), listen_first_s=5.0, reprompt_after_s=5.0, end_call=end_call
    )
    down, _ = await run_test(
        responder,
        frames_to_send=[
            turn("Hello?"),
            SleepFrame(sleep=0.1),
            turn("Yes."),
            SleepFrame(sleep=0.1),
            TurnRetractedFrame(text="Yes."),  # the prospect went on: "Yes, please."
            SleepFrame(sleep=0.5),
            turn("Yes. Yes, please."),
            SleepFrame(sleep=0.5),
        ],
    )
    said = [f.text for f in down if isinstance(f, AgentSayFrame)]
    # The reply to the withdrawn "Yes." was never spoken, and the brain was rolled back before deciding again.
    assert said == ["Hi, it's Sarah.", "Booked (1)."]
    assert brain.rollbacks == 1 and brain.booked == 1
    assert [e["kind"] for e in log.events].count("retracted_while_deciding") == 1
    prospect = [line for line in log.transcript if line["role"] == "prospect"]
    assert [line.get("retracted", False) for line in prospect] == [False, True, False]
    assert [t.prospect for t in log.turns] == ["Hello?", "Yes. Yes, please."]
