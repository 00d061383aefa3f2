"""Whole text dialogues through the playbook brain."""

from __future__ import annotations

import re

import pytest

from talktrack.brain.base import Brain, HistoryTurn, Reply
from talktrack.brain.context import CallContext, load_context
from talktrack.brain.engine import PlaybookBrain
from talktrack.brain.playbook import (
    RESERVED_INTENTS,
    Playbook,
    bundled_playbook,
    load_playbook,
)
from talktrack.errors import ConfigError


@pytest.fixture
def brain(playbook: Playbook, context: CallContext) -> PlaybookBrain:
    return PlaybookBrain(playbook, context)


async def talk(brain: PlaybookBrain, *lines: str) -> list[Reply]:
    return [await brain.respond(line) for line in lines]


async def into_qualifying(brain: PlaybookBrain) -> Reply:
    """Answer the phone and accept the pitch; returns the pitch reply."""
    brain.opener()
    return await brain.respond("Yeah, sure, go ahead.")


def sentences(text: str) -> int:
    return len(re.findall(r"[.!?](?:\s|$)", text))


def test_brain_satisfies_the_protocol(brain: PlaybookBrain) -> None:
    assert isinstance(brain, Brain)
    assert brain.fixed_lines() == brain.playbook.fixed_lines()


def test_every_builtin_intent_has_a_handler() -> None:
    from talktrack.brain import engine

    answers = {"yes", "no", "maybe", "backchannel", "statement"}
    assert RESERVED_INTENTS - answers <= set(engine._HANDLERS)


def test_language_must_be_in_the_playbook(playbook: Playbook) -> None:
    context = CallContext(prospect_name="Dana", company="Acme", language="de")
    with pytest.raises(ConfigError, match="language: 'de'"):
        PlaybookBrain(playbook, context)


async def test_happy_path_books_a_meeting(brain: PlaybookBrain) -> None:
    opener = brain.opener()
    assert opener.phase == "opening"
    assert opener.text.startswith("Hi Dana, it's Sarah from Backbeam.")
    assert opener.text.endswith("Did I catch you at an okay time?")

    pitch = await brain.respond("Yeah, sure, go ahead.")
    assert pitch.phase == "pitch"
    assert "restore a single record in minutes" in pitch.text
    assert pitch.text.endswith("How are you backing up your Salesforce data today?")

    team = await brain.respond("Honestly, we just do the weekly export.")
    assert team.phase == "qualifying"
    assert team.decision["slot"] == "current_tool"
    assert team.decision["ack"] in brain.playbook.acknowledgements
    assert team.text.endswith("Roughly how many people use Salesforce at Acme Logistics?")

    timeline = await brain.respond("About fifty people.")
    decider = await brain.respond("Probably next quarter.")
    assert timeline.decision["ack"] != team.decision["ack"]  # acknowledgements rotate
    assert "who else would weigh in" in decider.text

    close = await brain.respond("Just me and our CFO.")
    assert close.phase == "closing"
    assert "Dana" in close.text  # the first name again, in the close
    assert "30-minute demo" in close.text

    done = await brain.respond("Yeah, that works.")
    assert done.action == "end_call"
    assert done.outcome == "meeting_requested"
    assert done.phase == "ended"
    assert "calendar invite" in done.text
    assert dict(brain.slots) == {
        "current_tool": "Honestly, we just do the weekly export.",
        "team_size": "About fifty people.",
        "timeline": "Probably next quarter.",
        "decision_maker": "Just me and our CFO.",
    }
    roles = [turn.role for turn in brain.history]
    assert roles == ["agent"] + ["prospect", "agent"] * 6


async def test_hello_then_greeting_gives_the_opener(brain: PlaybookBrain) -> None:
    hello = brain.hello()
    assert hello.text == "Hello? This is Sarah from Backbeam."
    assert hello.phase == "listening"
    reply = await brain.respond("Hello? Yes?")
    assert reply.phase == "opening"
    assert reply.text.startswith("Hi Dana")


async def test_greeting_at_the_start_returns_the_opener(brain: PlaybookBrain) -> None:
    reply = await brain.respond("Hello?")
    assert reply.intent == "greeting"
    assert reply.text == brain.opener().text


async def test_faq_interruption_then_pending_question(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    await brain.respond("We just do the weekly export.")
    reply = await brain.respond("Wait, is the data encrypted?")
    assert reply.intent.startswith("faq:")
    assert reply.phase == "qualifying"
    assert reply.text.startswith("Yes. Everything is encrypted with AES 256 at rest")
    assert reply.text.endswith("Roughly how many Salesforce users do you have?")
    answer = await brain.respond("Around a hundred.")
    assert answer.decision["slot"] == "team_size"


async def test_soc2_type_ii(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("Hmm, does your SOC 2 cover Type II?")
    assert "SOC 2 Type 2" in reply.text
    assert "independent auditor" in reply.text
    assert reply.decision["faq"] == "Are you SOC 2 compliant?"
    assert reply.text.endswith("So, how do you back up Salesforce today?")
    assert "current_tool" not in brain.slots


async def test_unknown_product_question_abstains(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("Do you support SAP?")
    abstain = brain.playbook.fallbacks.unknown_question
    assert reply.intent == "unknown_question"
    assert reply.text.startswith(abstain)
    assert reply.text == f"{abstain} So, how do you back up Salesforce today?"
    assert "SAP" not in reply.text
    assert brain.follow_up_questions == ["Do you support SAP?"]
    assert reply.decision["follow_up"] == "Do you support SAP?"


async def test_not_interested_ends_the_call(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("Uh, not really interested, thanks.")
    assert reply.action == "end_call"
    assert reply.outcome == "not_interested"
    assert reply.text == "Understood. Thanks for your time, and have a great day!"
    after = await brain.respond("Wait, actually...")
    assert after.text == ""
    assert after.action == "end_call"


async def test_send_me_an_email(brain: PlaybookBrain) -> None:
    brain.opener()
    reply = await brain.respond("Can you just send me an email?")
    assert reply.action == "end_call"
    assert reply.outcome == "follow_up_email"
    assert "e-mail you a short overview" in reply.text


async def test_how_much_then_back(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("How much is it?")
    assert reply.action == "continue"
    assert reply.phase == "pitch"
    assert reply.text.startswith("It starts at four dollars per user per month")
    assert reply.text.endswith("So, how do you back up Salesforce today?")


async def test_off_topic_is_declined(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("Who won the Super Bowl?")
    assert reply.intent == "off_topic"
    assert reply.text == ("Ha, I'd better stay in my lane on that one! So, how do you back up Salesforce today?")


async def test_silence_reprompts_twice_then_hangs_up(brain: PlaybookBrain) -> None:
    brain.opener()
    first, second, third = brain.on_silence(1), brain.on_silence(2), brain.on_silence(3)
    assert first.text == "Are you still there?"
    assert second.text == "Hello? Can you hear me okay?"
    assert first.action == second.action == "continue"
    assert third.text == brain.playbook.silence_goodbye
    assert third.action == "end_call"
    assert third.outcome == "no_response"
    assert brain.phase == "ended"


async def test_presence_after_reprompt_returns_to_the_question(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    brain.on_silence(1)
    reply = await brain.respond("Yes, I'm here.")
    assert reply.text == "So, how do you back up Salesforce today?"
    assert "current_tool" not in brain.slots


def test_on_interrupted_keeps_only_what_was_heard(brain: PlaybookBrain) -> None:
    brain.opener()
    brain.on_interrupted("Hi Dana, it's Sarah from")
    assert brain.history == [HistoryTurn("agent", "Hi Dana, it's Sarah from")]
    brain.on_interrupted("")
    assert brain.history == []


async def test_interrupted_turn_is_truncated_before_the_prospect_turn(
    brain: PlaybookBrain,
) -> None:
    await into_qualifying(brain)
    brain.on_interrupted("Quick version: we back up")
    await brain.respond("What's the price?")
    assert brain.history[-3] == HistoryTurn("agent", "Quick version: we back up")
    assert brain.history[-2] == HistoryTurn("prospect", "What's the price?")


async def test_repeat_says_the_last_line_without_the_acknowledgement(
    brain: PlaybookBrain,
) -> None:
    await into_qualifying(brain)
    asked = await brain.respond("We just do the weekly export.")
    again = await brain.respond("Sorry, what?")
    assert again.text == "Roughly how many people use Salesforce at Acme Logistics?"
    assert asked.text.endswith(again.text)
    assert again.phase == asked.phase


async def test_who_is_this_in_the_opening(brain: PlaybookBrain) -> None:
    brain.opener()
    reply = await brain.respond("Sorry, who is this?")
    assert reply.text == (
        "It's Sarah, from Backbeam. We back up SaaS data like Salesforce. Did I catch you at an okay time?"
    )
    assert reply.phase == "opening"


async def test_are_you_ai_is_answered_honestly(brain: PlaybookBrain) -> None:
    brain.opener()
    reply = await brain.respond("Wait, is this a robot?")
    assert "AI assistant" in reply.text


async def test_bad_time_ends_politely(brain: PlaybookBrain) -> None:
    brain.opener()
    reply = await brain.respond("No, not really.")
    assert reply.action == "end_call"
    assert reply.outcome == "call_back_later"


async def test_no_at_the_close_gets_one_soft_retry(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    await talk(brain, "Weekly export.", "About fifty.", "Next quarter.", "Just me.")
    retry = await brain.respond("Hmm, I don't think so.")
    assert retry.action == "continue"
    assert retry.text == brain.playbook.close.soft_retry
    final = await brain.respond("No.")
    assert final.action == "end_call"
    assert final.outcome == "not_interested"
    assert "Dana" in final.text


async def test_yes_after_soft_retry_books(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    await talk(brain, "Weekly export.", "About fifty.", "Next quarter.", "Just me.", "Nah.")
    reply = await brain.respond("Okay, sure.")
    assert reply.outcome == "meeting_requested"


async def test_asking_for_a_demo_skips_optional_questions(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    await brain.respond("We just do the weekly export.")
    reply = await brain.respond("Can we just set up a demo?")
    assert reply.text.endswith("Roughly how many people use Salesforce at Acme Logistics?")
    done = await brain.respond("About two hundred.")
    assert done.outcome == "meeting_requested"
    assert set(brain.slots) == {"current_tool", "team_size"}


async def test_objection_that_answers_the_pending_question(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("We already use OwnBackup.")
    assert reply.text.startswith("Makes sense. A lot of teams switch to us")
    assert reply.text.endswith("Roughly how many people use Salesforce at Acme Logistics?")
    assert brain.slots["current_tool"] == "We already use OwnBackup."


async def test_backchannel_is_not_an_answer(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("Mm-hmm.")
    assert reply.text == "So, how do you back up Salesforce today?"
    assert not brain.slots


async def test_hold_waits_silently(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("Hang on a second.")
    assert reply.text == ""
    assert reply.action == "continue"


async def test_unclear_asks_again(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("Um...")
    assert reply.text == brain.playbook.fallbacks.didnt_catch


async def test_replies_are_short_and_made_of_playbook_lines(
    brain: PlaybookBrain, playbook: Playbook, context: CallContext
) -> None:
    replies = [brain.opener()]
    replies += await talk(
        brain,
        "Sure.",
        "Does your SOC 2 cover Type II?",
        "We use OwnBackup.",
        "Do you support SAP?",
        "How much is it?",
        "About fifty.",
        "Who won the Super Bowl?",
        "Next quarter.",
        "Are you a robot?",
        "Just me.",
        "Yeah, sounds good.",
    )
    rendered = {playbook.render(line, context) for _, line in playbook.template_lines()}
    fixed = set(brain.fixed_lines())
    for reply in replies:
        assert 1 <= sentences(reply.text) <= 3, reply.text
        lines = reply.decision["lines"]
        assert isinstance(lines, tuple)
        assert " ".join(lines) == reply.text
        assert set(lines) <= rendered | set(playbook.acknowledgements)
        assert reply.decision["ack"] is None or reply.decision["ack"] in fixed
    assert replies[-1].outcome == "meeting_requested"


async def test_decision_records_the_phase_change(brain: PlaybookBrain) -> None:
    brain.opener()
    reply = await brain.respond("Yeah, sure, go ahead.")
    assert reply.decision["phase_before"] == "opening"
    assert reply.decision["phase_after"] == "pitch"
    assert reply.decision["intent"] == "yes"
    assert reply.decision["example"] == "sure go ahead"
    assert isinstance(reply.decision["score"], float)


async def test_rollback_undoes_a_turn_completely():
    from talktrack.brain.engine import PlaybookBrain

    playbook = load_playbook(bundled_playbook())
    brain = PlaybookBrain(playbook, load_context(bundled_playbook().parent / "context.yaml"))
    await brain.respond("Hello?")
    await brain.respond("Yeah, sure, go ahead.")
    state = brain.checkpoint()
    before = (brain.phase, dict(brain.slots), [h.text for h in brain.history])
    first = await brain.respond("We just do a weekly export.")
    assert brain.slots  # the answer filled a slot
    brain.rollback(state)
    assert (brain.phase, dict(brain.slots), [h.text for h in brain.history]) == before
    again = await brain.respond("We just do a weekly export.")
    assert again.text == first.text


async def test_a_numeric_answer_is_also_recorded_as_a_number(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    await brain.respond("We export to a spreadsheet.")
    reply = await brain.respond("Uh, about two hundred and fifty people.")
    assert reply.decision["slot"] == "team_size"
    assert reply.decision["number"] == 250


@pytest.mark.parametrize(
    "answer", ["Like, sixty people?", "We use a backup app from the AppExchange.", "Uh, Salesforce, mostly?"]
)
async def test_a_rising_tone_or_a_product_word_still_answers_the_question(brain: PlaybookBrain, answer: str) -> None:
    await into_qualifying(brain)
    reply = await brain.respond(answer)
    assert reply.decision["slot"] == "current_tool" and reply.decision["value"] == answer


async def test_a_question_with_a_greeting_in_front_is_still_off_topic(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("Hey, who won the Super Bowl?")
    assert reply.text.startswith(brain.playbook.fallbacks.off_topic)


async def test_tag_questions_and_second_sentences_carry_the_intent(brain: PlaybookBrain) -> None:
    await into_qualifying(brain)
    reply = await brain.respond("Uh, Salesforce already backs it up, doesn't it?")
    assert reply.intent == "already_have_backup"
    bye = await brain.respond("Actually, you know what, I'm not interested. Take me off your list.")
    assert bye.outcome == "not_interested"
