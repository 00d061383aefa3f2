"""The LLM brain's system prompt."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from talktrack.brain.context import CallContext
from talktrack.brain.playbook import Playbook
from talktrack.brain.prompt import system_prompt

NOW = datetime(2025, 3, 4, 15, 30, tzinfo=UTC)  # 9:30 AM in Chicago (before daylight saving starts)


@pytest.fixture(scope="module")
def prompt(playbook: Playbook, context: CallContext) -> str:
    return system_prompt(playbook, context, now=NOW)


def test_persona_company_goal_and_call_context(prompt: str, playbook: Playbook, context: CallContext) -> None:
    assert "You are Sarah, a sales development rep at Backbeam" in prompt
    assert playbook.company.one_liner in prompt
    assert "Your goal on this call: book a 30-minute demo." in prompt
    assert "Dana Whitfield (call them Dana), at Acme Logistics" in prompt
    assert f"Earlier contact: {context.history}." in prompt
    assert "Their time zone: America/Chicago; their local time now: Tuesday 04 March 2025, 9:30 AM." in prompt
    assert "- title: IT Director" in prompt


def test_qualification_questions_in_order_with_required_marked(prompt: str, playbook: Playbook) -> None:
    at = [prompt.index(f"{q.slot} (") for q in playbook.qualification]
    assert at == sorted(at)
    assert '1. current_tool (required): "How are you backing up your Salesforce data today?"' in prompt
    assert '2. team_size (required): "Roughly how many people use Salesforce at Acme Logistics?"' in prompt
    assert "3. timeline (optional" in prompt and "4. decision_maker (optional" in prompt


def test_objections_say_what_to_answer_but_figures_come_from_search(prompt: str, playbook: Playbook) -> None:
    declined = next(o for o in playbook.objections if o.intent == "not_interested")
    assert f'"{declined.response}" Then call end_call with outcome not_interested.' in prompt
    price = next(o for o in playbook.objections if o.intent == "how_much")
    assert price.response not in prompt
    assert (
        '"how much is it", "how much does it cost", "what does it cost": look the answer up with search_knowledge'
        in (prompt)
    )


def test_product_facts_are_not_pasted_and_the_abstain_rule_is_exact(
    prompt: str, playbook: Playbook, context: CallContext
) -> None:
    for faq in playbook.faq:
        assert faq.answer not in prompt
    assert "AES" not in prompt and "four dollars" not in prompt
    assert "state product facts (features, prices, numbers, security, integrations) only from search_knowledge" in (
        prompt
    )
    unknown = playbook.render(playbook.fallbacks.unknown_question, context)
    assert f'If the tool returns nothing relevant, say exactly: "{unknown}"' in prompt


def test_off_topic_booking_style_and_compliance(prompt: str, playbook: Playbook) -> None:
    assert f'Decline with "{playbook.fallbacks.off_topic}" and steer back' in prompt
    assert "call check_availability, then propose two concrete slots" in prompt
    assert "confirm the time they pick and their e-mail address, then call book_meeting" in prompt
    assert "prospect's zone (America/Chicago)" in prompt
    assert "One or two short sentences per turn" in prompt and "no lists, no markdown" in prompt
    assert "Say numbers as words where natural" in prompt
    assert "Never deny being an AI." in prompt
    assert f'say: "{playbook.render(playbook.disclosure_line)}"' in prompt


def test_reply_language_and_email_on_file(playbook: Playbook, context: CallContext) -> None:
    german = system_prompt(playbook, context, language="de", now=NOW)
    assert "Speak German only" in german
    with_email = system_prompt(playbook, replace(context, email="dana@acme.example"), now=NOW)
    assert "E-mail on file: dana@acme.example" in with_email
    assert "E-mail on file" not in system_prompt(playbook, replace(context, email=""), now=NOW)


def test_a_naive_now_is_taken_as_utc(playbook: Playbook, context: CallContext) -> None:
    naive = system_prompt(playbook, context, now=NOW.replace(tzinfo=None))
    assert naive == system_prompt(playbook, context, now=NOW)
