"""Whole calls with the LLM brain: an OpenAI-compatible endpoint on loopback streams the agent's replies."""

from __future__ import annotations

import re

import pytest

from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.testing.fake_llm import FakeLlmServer, stall, text
from talktrack.testing.harness import simulate_call
from talktrack.testing.scenario import Hangup, Say, Scenario, Silence, WaitAgent

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def agent():
    return Agent.load(bundled_agent_dir())


async def test_streamed_replies_are_spoken_clause_by_clause(agent, engines, settings):
    async with FakeLlmServer() as llm:
        reply = text("Great, thanks Dana. ", "Quick question: how do you back up Salesforce today?", delay=0.2)
        # On a busy box "Sure, ... go ahead." can end a turn at the comma; the agent then takes its words back and
        # asks again with the whole sentence, so the endpoint answers the same way twice.
        llm.script(reply)
        llm.script(reply)
        # This test is about streaming, not the fallback: a slow first request on a busy box must not trip it.
        llm_settings = {
            "brain": "llm",
            "llm_base_url": llm.base_url,
            "llm_first_token_timeout_s": 5.0,
            "reprompt_after_s": 6.0,  # no reprompt while the prospect waits out the agent's pauses
        }
        office = settings.model_copy(update=llm_settings)
        scenario = Scenario(
            name="llm",
            steps=[
                Silence(silence=0.3),
                Say(say="Hello?"),
                WaitAgent(),
                Say(say="Sure, go ahead."),
                WaitAgent(quiet_ms=2000),  # the streamed reply may pause between clauses: no barge-in here
                Hangup(),
            ],
        )
        call = await simulate_call(agent, scenario, engines, office, transcribe_agent=True)
    said = [line["text"] for line in call.log.transcript if line["role"] == "agent"]
    assert said[0].startswith("Hi Dana, it's Sarah from Backbeam.")  # the opener comes from the playbook
    # The streamed reply is whole in the record although it arrived in pieces, and the prospect heard all of it.
    assert "Great, thanks Dana. Quick question: how do you back up Salesforce today?" in said, said
    heard = re.sub(r"[^a-z ]", "", " ".join(seg.text for seg in call.caller.agent).lower())
    assert "quick question" in heard and "back up" in heard.replace("backup", "back up"), heard
    # The model saw the playbook's tools and the conversation so far.
    request = llm.requests[-1]
    assert {t["function"]["name"] for t in request["tools"]} >= {"check_availability", "book_meeting", "end_call"}
    assert request["messages"][-1] == {"role": "user", "content": "Sure, go ahead."}


async def test_a_stalling_endpoint_falls_back_to_the_playbook_without_dead_air(agent, engines, settings):
    async with FakeLlmServer() as llm:
        for _ in range(2):  # twice, in case the turn is taken back and asked again
            llm.script(stall(10.0))
        office = settings.model_copy(update={"brain": "llm", "llm_base_url": llm.base_url})
        scenario = Scenario(
            name="stall",
            steps=[
                Silence(silence=0.3),
                Say(say="Hello?"),
                WaitAgent(),
                Say(say="Yes now is fine."),
                WaitAgent(),
                Hangup(),
            ],
        )
        call = await simulate_call(agent, scenario, engines, office)
    fallbacks = [e for e in call.log.events if e["kind"] == "brain" and e["decision"].get("fallback")]
    assert fallbacks
    for fallback in fallbacks:
        assert fallback["decision"]["fallback"] == "timeout"
        assert fallback["ms"] < 1500  # the playbook answered within the budget, not after the endpoint's 10 s
    said = [line["text"] for line in call.log.transcript if line["role"] == "agent"]
    assert any(line.startswith("Quick version: we back up your SaaS apps") for line in said)  # the playbook's pitch
