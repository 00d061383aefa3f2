"""The LLM brain against a real HTTP server speaking the OpenAI wire format, through the real openai SDK."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from talktrack.brain.base import Brain, HistoryTurn, Reply
from talktrack.brain.context import CallContext
from talktrack.brain.engine import PlaybookBrain
from talktrack.brain.llm import ClauseStream, LlmBrain
from talktrack.brain.playbook import Playbook
from talktrack.brain.prompt import system_prompt
from talktrack.testing.fake_llm import FakeLlmServer, garbage, http_error, stall, text, tool_call
from talktrack.tools.registry import ToolRegistry, tool

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 4, 15, 30, tzinfo=UTC)
ENCRYPTION = {"id": "faq:1", "text": "Everything is encrypted with AES 256 at rest.", "source": "playbook faq"}
TRIAL = {"id": "faq:5", "text": "Yes, there's a 14-day free trial.", "source": "playbook faq"}


@dataclass
class Desk:
    """What the test tools reach: the passages to return and a record of what they were asked."""

    passages: list[dict[str, str]] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)


@tool
async def check_availability(services: Desk, *, when: str) -> dict[str, Any]:
    """Free meeting slots around the day the prospect named."""
    services.asked.append(when)
    return {"slots": ["Tuesday 10:00", "Wednesday 14:00"]}


@tool
async def search_knowledge(services: Desk, *, query: str) -> dict[str, Any]:
    """Product passages that answer the prospect's question."""
    services.asked.append(query)
    return {"passages": list(services.passages)}


@tool
async def end_call(services: Desk, *, outcome: str) -> dict[str, Any]:
    """Hang up after the goodbye, recording the outcome."""
    return {"outcome": outcome}


@pytest.fixture
def desk() -> Desk:
    return Desk()


@pytest.fixture
def registry(desk: Desk) -> ToolRegistry:
    return ToolRegistry([check_availability, search_knowledge, end_call], desk)


@pytest.fixture
async def llm() -> AsyncIterator[FakeLlmServer]:
    async with FakeLlmServer() as server:
        yield server


def make_brain(
    playbook: Playbook, context: CallContext, registry: ToolRegistry, base_url: str, **kwargs: Any
) -> LlmBrain:
    fallback = PlaybookBrain(playbook, context)
    options: dict[str, Any] = {"api_key": "test-key", "model": "fake-model", "now": lambda: NOW} | kwargs
    return LlmBrain(playbook, context, registry, fallback=fallback, base_url=base_url, **options)


@pytest.fixture
async def brain(
    playbook: Playbook, context: CallContext, registry: ToolRegistry, llm: FakeLlmServer
) -> AsyncIterator[LlmBrain]:
    made = make_brain(playbook, context, registry, llm.base_url)
    made.opener()
    yield made
    await made.aclose()


async def drain(reply: Reply) -> list[str]:
    return [clause async for clause in reply.more] if reply.more is not None else []


def abstain_line(playbook: Playbook, context: CallContext) -> str:
    return playbook.render(playbook.fallbacks.unknown_question, context)


async def playbook_reply(playbook: Playbook, context: CallContext, said: str) -> Reply:
    """What the rule engine alone answers to ``said`` right after the opener."""
    engine = PlaybookBrain(playbook, context)
    engine.opener()
    return await engine.respond(said)


# -- clauses -------------------------------------------------------------------------------


def test_clauses_are_cut_at_punctuation_once_they_have_two_words() -> None:
    stream = ClauseStream()
    out: list[str] = []
    for piece in ["Sure", ", ", "Tuesday ", "works", ". ", "I'll ", "send ", "Dr. ", "Lee ", "the ", "invite."]:
        out += stream.feed(piece)
    assert out == ["Sure, Tuesday works."]
    assert stream.flush() == ["I'll send Dr. Lee the invite."]


def test_a_number_split_over_chunks_is_not_cut_at_its_comma() -> None:
    stream = ClauseStream()
    assert stream.feed("It costs 1,") == []
    assert stream.feed("200 dollars, ") == ["It costs 1,200 dollars,"]
    assert stream.feed("give or take") == []
    assert stream.flush() == ["give or take"]


# -- streaming -----------------------------------------------------------------------------


async def test_the_first_clause_is_returned_before_the_stream_ends(
    brain: LlmBrain, llm: FakeLlmServer, registry: ToolRegistry, playbook: Playbook, context: CallContext
) -> None:
    assert isinstance(brain, Brain)
    llm.script(text("Sure thing, ", "I'll keep it quick. ", "How do you back up Salesforce today?", delay=0.5))
    started = time.monotonic()
    reply = await brain.respond("Yeah, go ahead.")
    returned = time.monotonic() - started
    assert reply.text == "Sure thing," and reply.lines == ["Sure thing,"]
    assert returned < 0.3, f"respond took {returned:.3f}s"
    assert (reply.intent, reply.action, reply.phase) == ("llm", "continue", "conversation")
    rest = await drain(reply)
    assert rest == ["I'll keep it quick.", "How do you back up Salesforce today?"]
    assert time.monotonic() - started >= 0.9  # the later clauses really did arrive later
    whole = "Sure thing, I'll keep it quick. How do you back up Salesforce today?"
    assert brain.history[-2:] == [HistoryTurn("prospect", "Yeah, go ahead."), HistoryTurn("agent", whole)]
    sent = llm.requests[0]
    assert sent["model"] == "fake-model" and sent["stream"] is True and sent["temperature"] == 0.3
    assert sent["tools"] == registry.schemas() and "tool_choice" not in sent
    assert sent["messages"][0] == {
        "role": "system",
        "content": system_prompt(playbook, context, language="en", now=NOW),
    }
    assert sent["messages"][1] == {"role": "assistant", "content": brain.fallback.history[0].text}
    assert sent["messages"][2:] == [{"role": "user", "content": "Yeah, go ahead."}]
    assert brain.messages[-1] == {"role": "assistant", "content": whole}
    assert brain.last_turn["first_token_ms"] is not None and brain.last_turn["fallback"] is None


async def test_a_tool_call_with_arguments_in_pieces_runs_and_the_model_is_asked_again(
    brain: LlmBrain, llm: FakeLlmServer, desk: Desk
) -> None:
    llm.script(tool_call("check_availability", {"when": "next tuesday morning"}, id="call_cal", pieces=5))
    llm.script(text("I have Tuesday at ten, or Wednesday at two. Which works better?"))
    reply = await brain.respond("Could we do Tuesday morning?")
    assert reply.text == "I have Tuesday at ten,"
    assert await drain(reply) == ["or Wednesday at two.", "Which works better?"]
    assert desk.asked == ["next tuesday morning"]
    second = llm.requests[1]["messages"]
    assert second[-2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_cal",
                "type": "function",
                "function": {"name": "check_availability", "arguments": '{"when": "next tuesday morning"}'},
            }
        ],
    }
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == "call_cal"
    assert json.loads(second[-1]["content"]) == {"ok": True, "slots": ["Tuesday 10:00", "Wednesday 14:00"]}
    calls = reply.decision["tool_calls"]
    assert isinstance(calls, list) and [c["name"] for c in calls] == ["check_availability"]
    assert calls[0]["ok"] is True and calls[0]["ms"] >= 0


async def test_two_tool_calls_in_one_response_run_in_order(brain: LlmBrain, llm: FakeLlmServer, desk: Desk) -> None:
    llm.script(
        tool_call("check_availability", {"when": "tuesday"}, id="call_a"),
        tool_call("check_availability", {"when": "wednesday"}, id="call_b"),
    )
    llm.script(text("Tuesday at ten or Wednesday at two both work."))
    reply = await brain.respond("Tuesday or Wednesday, whichever is free.")
    await drain(reply)
    assert desk.asked == ["tuesday", "wednesday"]
    second = llm.requests[1]["messages"]
    assert [c["id"] for c in second[-3]["tool_calls"]] == ["call_a", "call_b"]
    assert [(m["role"], m["tool_call_id"]) for m in second[-2:]] == [("tool", "call_a"), ("tool", "call_b")]


async def test_text_before_a_tool_call_is_said_while_the_tool_runs(brain: LlmBrain, llm: FakeLlmServer) -> None:
    llm.script(text("Let me check the calendar."), tool_call("check_availability", {"when": "friday"}))
    llm.script(text("Friday at ten is open."))
    reply = await brain.respond("Is Friday any good for you?")
    assert reply.text == "Let me check the calendar."
    assert await drain(reply) == ["Friday at ten is open."]
    assert brain.history[-1].text == "Let me check the calendar. Friday at ten is open."


async def test_tool_rounds_stop_at_the_limit(
    playbook: Playbook, context: CallContext, registry: ToolRegistry, llm: FakeLlmServer
) -> None:
    brain = make_brain(playbook, context, registry, llm.base_url, max_tool_rounds=1)
    brain.opener()
    llm.script(tool_call("check_availability", {"when": "monday"}))
    llm.script(text("Monday at nine is free."))
    reply = await brain.respond("How about Monday?")
    assert [reply.text, *await drain(reply)] == ["Monday at nine is free."]
    assert "tool_choice" not in llm.requests[0] and llm.requests[1]["tool_choice"] == "none"
    await brain.aclose()


# -- never dead air ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ((stall(5.0),), "timeout"),
        ((stall(0.2), text("Sure"), stall(5.0)), "timeout"),
        ((http_error(500),), "error"),
        ((http_error(429, "Rate limit reached."),), "error"),
        ((garbage(),), "error"),
        ((text(),), "empty"),
    ],
    ids=["stall", "stall-mid-clause", "http-500", "http-429", "garbage", "empty"],
)
async def test_a_failing_endpoint_is_answered_by_the_playbook(
    brain: LlmBrain, llm: FakeLlmServer, playbook: Playbook, context: CallContext, steps: tuple[Any, ...], reason: str
) -> None:
    llm.script(*steps)
    started = time.monotonic()
    reply = await brain.respond("Yeah, go ahead.")
    took = time.monotonic() - started
    assert took <= 1.5, f"fallback took {took:.3f}s"
    expected = await playbook_reply(playbook, context, "Yeah, go ahead.")
    assert (reply.text, reply.intent, reply.lines) == (expected.text, expected.intent, expected.lines)
    assert reply.decision["fallback"] == reason and reply.more is None
    assert brain.history[-1] == HistoryTurn("agent", expected.text)
    assert brain.messages[-1] == {"role": "assistant", "content": expected.text}


async def test_an_unreachable_endpoint_is_answered_by_the_playbook(
    playbook: Playbook, context: CallContext, registry: ToolRegistry
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    brain = make_brain(playbook, context, registry, f"http://127.0.0.1:{port}/v1")
    brain.opener()
    reply = await brain.respond("Yeah, go ahead.")
    assert reply.decision["fallback"] == "error" and "Connection" in str(reply.decision["error"])
    assert reply.text == (await playbook_reply(playbook, context, "Yeah, go ahead.")).text
    await brain.aclose()


async def test_a_stall_after_the_first_clause_ends_the_turn_with_what_was_said(
    brain: LlmBrain, llm: FakeLlmServer
) -> None:
    llm.script(text("Sure thing, "), stall(5.0), text("this never arrives."))
    reply = await brain.respond("Yeah, go ahead.")
    assert reply.text == "Sure thing,"
    started = time.monotonic()
    assert await drain(reply) == []
    assert time.monotonic() - started < 1.5
    assert brain.history[-1] == HistoryTurn("agent", "Sure thing,")
    assert str(brain.last_turn["stream_error"]).startswith("timeout")


# -- grounding -----------------------------------------------------------------------------


async def test_a_product_answer_without_search_knowledge_becomes_the_abstain_line(
    brain: LlmBrain, llm: FakeLlmServer, playbook: Playbook, context: CallContext
) -> None:
    llm.script(text("Yes, we fully support SAP."))
    reply = await brain.respond("Do you support SAP?")
    assert reply.text == abstain_line(playbook, context)
    assert await drain(reply) == []
    assert reply.decision["grounded"] is False and reply.decision["abstained"] == "no_search"
    assert brain.follow_up_questions == ["Do you support SAP?"]
    assert brain.history[-1].text == abstain_line(playbook, context)


async def test_a_product_answer_from_the_passages_passes(brain: LlmBrain, llm: FakeLlmServer, desk: Desk) -> None:
    desk.passages = [ENCRYPTION]
    llm.script(text("Let me check that."), tool_call("search_knowledge", {"query": "is data encrypted"}))
    llm.script(text("Yes, everything is encrypted with AES two hundred fifty-six at rest. Anything else?"))
    reply = await brain.respond("Is my data encrypted?")
    assert reply.text == "Yes, everything is encrypted with AES two hundred fifty-six at rest."
    assert await drain(reply) == ["Anything else?"]
    assert reply.decision["grounded"] is True and reply.decision["passages"] == ["faq:1"]
    assert brain.last_turn["dropped"] == ["Let me check that."]  # said before the facts were known
    assert brain.follow_up_questions == []


async def test_a_number_missing_from_the_passages_abstains(
    brain: LlmBrain, llm: FakeLlmServer, desk: Desk, playbook: Playbook, context: CallContext
) -> None:
    desk.passages = [TRIAL]
    llm.script(tool_call("search_knowledge", {"query": "trial length"}))
    # (30 would pass: the call context's goal is a 30-minute demo)
    llm.script(text("Yes, there's a forty-five day free trial."))
    reply = await brain.respond("How long is the free trial?")
    assert reply.text == abstain_line(playbook, context)
    assert reply.decision["abstained"] == "ungrounded_number" and reply.decision["ungrounded"] == ["45"]
    assert brain.follow_up_questions == ["How long is the free trial?"]


async def test_a_number_said_in_words_matches_the_passage_digits(
    brain: LlmBrain, llm: FakeLlmServer, desk: Desk
) -> None:
    desk.passages = [TRIAL]
    llm.script(tool_call("search_knowledge", {"query": "trial length"}))
    llm.script(text("Yes, there's a fourteen-day free trial."))
    reply = await brain.respond("How long is the free trial?")
    assert reply.text == "Yes, there's a fourteen-day free trial." and reply.decision["grounded"] is True


async def test_search_without_passages_abstains(
    brain: LlmBrain, llm: FakeLlmServer, playbook: Playbook, context: CallContext
) -> None:
    llm.script(tool_call("search_knowledge", {"query": "SAP support"}))
    llm.script(text("I believe we do support SAP."))
    reply = await brain.respond("Do you support SAP?")
    assert reply.text == abstain_line(playbook, context) and reply.decision["abstained"] == "no_passages"


# -- ending, rollback, barge-in --------------------------------------------------------------


async def test_end_call_before_any_text_ends_on_the_playbook_goodbye(
    brain: LlmBrain, llm: FakeLlmServer, playbook: Playbook, context: CallContext
) -> None:
    llm.script(tool_call("end_call", {"outcome": "not_interested"}))
    reply = await brain.respond("Not interested, thanks.")
    assert reply.text == playbook.render(playbook.close.goodbye, context)
    assert (reply.action, reply.outcome, reply.phase) == ("end_call", "not_interested", "ended")
    assert await drain(reply) == []
    assert brain.pending_end == "not_interested" and len(llm.requests) == 1


async def test_end_call_after_the_goodbye_is_known_once_the_stream_is_drained(
    brain: LlmBrain, llm: FakeLlmServer
) -> None:
    goodbye = text("Understood, thanks for your time. ", "Have a great day!", delay=0.3)
    llm.script(goodbye, tool_call("end_call", {"outcome": "x"}))
    reply = await brain.respond("Not interested, thanks.")
    assert reply.text == "Understood, thanks for your time." and reply.action == "continue"
    assert brain.pending_end is None
    assert await drain(reply) == ["Have a great day!"]
    assert brain.pending_end == "x" and brain.phase == "ended" and len(llm.requests) == 1
    ended = await brain.respond("Bye.")
    assert ended.ends_call and ended.text == ""


async def test_rollback_forgets_the_turn(brain: LlmBrain, llm: FakeLlmServer) -> None:
    state = brain.checkpoint()
    history, messages = list(brain.history), brain.messages
    llm.script(text("Great, how do you back up Salesforce today?"))
    await drain(await brain.respond("Yeah, go ahead."))
    assert brain.history != history
    brain.rollback(state)
    assert brain.history == history and brain.messages == messages
    llm.script(text("Great, so how do you back up Salesforce today?"))
    await drain(await brain.respond("Yeah, go ahead, I have a few minutes."))
    said = [m["content"] for m in llm.requests[-1]["messages"] if m["role"] == "user"]
    assert said == ["Yeah, go ahead, I have a few minutes."]


async def test_a_barge_in_keeps_only_what_was_heard(brain: LlmBrain, llm: FakeLlmServer) -> None:
    llm.script(text("Sure thing, ", "here's the quick version. ", "How do you back up today?", delay=0.3))
    reply = await brain.respond("Yeah, go ahead.")
    brain.on_interrupted("Sure thing,")
    assert await drain(reply) == []
    assert brain.history[-1] == HistoryTurn("agent", "Sure thing,")
    assert brain.messages[-1] == {"role": "assistant", "content": "Sure thing,"}
    llm.script(text("No problem, go on."))
    await drain(await brain.respond("Sorry, wait."))
    assert llm.requests[-1]["messages"][-2] == {"role": "assistant", "content": "Sure thing,"}


async def test_silence_lines_come_from_the_playbook(brain: LlmBrain, playbook: Playbook) -> None:
    first = brain.on_silence(1)
    assert first.text == playbook.reprompts[0] and brain.messages[-1]["content"] == first.text
    brain.on_silence(2)
    last = brain.on_silence(3)
    assert last.ends_call and brain.pending_end == "no_response"
    assert brain.fixed_lines() == playbook.fixed_lines()
