"""Whole calls on the simulated line with the real local models: behaviour, not tight timings."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.demo import booking_report, bundled_scenario, local_office
from talktrack.telephony.simline import LineConditions
from talktrack.testing.harness import simulate_call
from talktrack.testing.scenario import Hangup, Noise, Say, Scenario, Silence, WaitAgent, load_scenario

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def agent():
    return Agent.load(bundled_agent_dir())


async def test_demo_call_waits_for_hello_answers_stops_when_interrupted_books_and_is_recorded(
    agent, engines, settings
):
    scenario = load_scenario(bundled_scenario("demo"))
    out = settings.data_dir / "calls"
    async with local_office(settings) as office_settings:  # a real Radicale calendar and SMTP server
        call = await simulate_call(agent, scenario, engines, office_settings, transcribe_agent=True, save_to=out)
        booking = booking_report(call, office_settings)
    report, log = call.caller, call.log

    assert report.failures == []  # every expected line (FAQ answer, price, the name, the booking) was heard
    assert log.outcome == "meeting_booked"
    assert report.hung_up_by == "agent"

    # One event in the calendar, the time the agent said is the event's, and the invite is in the outbox.
    assert booking and not [line for line in booking if "problem" in line], booking
    assert any("invite:    sent to Dana Whitfield <dana.whitfield@acmelogistics.com>" in line for line in booking)

    # Listen first: the agent's first sound comes after the prospect's "Hello?", not before.
    hello = report.utterances[0]
    assert report.agent[0].start > hello.end

    # It used the prospect's name, as heard on the line.
    assert any("dana" in seg.text.lower() for seg in report.agent)

    # The SOC 2 question got the Type 2 answer.
    soc2 = next(t for t in report.turns if "SOC 2" in t.text)
    assert soc2.expect_ok

    # Barge-in: the agent went quiet soon after the prospect cut in, and its history
    # keeps only what the prospect heard of the interrupted line.
    barge = next(t for t in report.turns if t.bargein_stop_ms is not None)
    assert barge.bargein_stop_ms < 1000
    cut = [line for line in log.transcript if line.get("interrupted")]
    assert cut, "the interrupted agent line is marked in the transcript"
    assert len(cut[0]["heard"]) < len(cut[0]["text"])
    agent_turns = [h.text for h in call.session.brain.history if h.role == "agent"]
    assert cut[0]["heard"] in agent_turns
    assert cut[0]["text"] not in agent_turns

    # The record and the stereo recording are on disk and agree with the call.
    record = json.loads((out / f"{log.call_id}.json").read_text())
    assert record["outcome"] == "meeting_booked"
    tools = [t["tool"] for e in record["events"] if e["kind"] == "brain" for t in e["decision"].get("tools", [])]
    # (a withdrawn turn may have asked for the free slots once more)
    assert set(tools) == {"check_availability", "book_meeting"} and tools[-1] == "book_meeting"
    assert len(record["turns"]) >= 8
    assert all(t["stt_ms"] > 0 and t["endpoint_ms"] > 0 for t in record["turns"])
    assert any(e["kind"] == "barge_in" for e in record["events"])
    with wave.open(record["recording"]) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 8000
        assert w.getnframes() / 8000 > 30


async def test_silence_gets_hello_then_reprompts_then_a_polite_hangup(agent, engines, settings):
    scenario = Scenario(name="silent", steps=[Silence(silence=20.0), Hangup()])
    call = await simulate_call(agent, scenario, engines, settings, transcribe_agent=True)
    said = [line for line in call.log.transcript if line["role"] == "agent"]
    kinds = [line["kind"] for line in said]
    assert kinds[0] == "hello"
    assert kinds.count("reprompt") == 3  # two reprompts, then the goodbye line
    assert call.log.outcome == "no_response"
    assert call.caller.hung_up_by == "agent"
    heard = " ".join(seg.text for seg in call.caller.agent).lower()
    assert "sarah" in heard and "still there" in heard


async def test_a_cough_is_not_a_turn(agent, engines, settings):
    scenario = Scenario(
        name="cough",
        steps=[
            Say(say="Hello?"),
            WaitAgent(),
            Noise(noise="cough"),
            Silence(silence=1.0),
            Say(say="Yeah, sure, go ahead."),
            WaitAgent(),
            Hangup(),
        ],
    )
    call = await simulate_call(agent, scenario, engines, settings)
    prospect_lines = [
        line["text"] for line in call.log.transcript if line["role"] == "prospect" and not line.get("retracted")
    ]
    # The cough produced no prospect line and no reply of its own.
    assert len(prospect_lines) == 2
    assert call.log.turns[-1].intent == "yes"


HUMAN_HELLO = Path("/usr/share/asterisk/sounds/en/hello.wav")


@pytest.mark.skipif(not HUMAN_HELLO.exists(), reason="apt-get install asterisk-core-sounds-en-wav")
async def test_a_real_human_hello_gets_the_opener(agent, engines, settings):
    scenario = Scenario(
        name="human",
        steps=[Silence(silence=0.3), Say(say_wav=HUMAN_HELLO), WaitAgent(), Hangup()],
    )
    call = await simulate_call(agent, scenario, engines, settings, transcribe_agent=True)
    assert call.caller.failures == []
    assert call.log.transcript[0]["role"] == "prospect"
    assert call.log.transcript[1]["kind"] == "opener"
    heard = " ".join(segment.text for segment in call.caller.agent[:3]).lower()
    assert "calling about" in heard, heard  # the opener reached the prospect (names are ASR's weak spot)
    assert call.caller.v2v_ms


async def test_a_lossy_jittery_line_still_carries_the_call(agent, engines, settings):
    scenario = load_scenario(bundled_scenario("demo"))
    bad_line = LineConditions(latency_ms=40, jitter_ms=30, loss=0.02, seed=5)
    async with local_office(settings) as office_settings:
        call = await simulate_call(agent, scenario, engines, office_settings, conditions=bad_line)
    assert call.log.outcome == "meeting_booked"
    assert call.caller.failures == []
    assert len(call.caller.v2v_ms) >= 8
