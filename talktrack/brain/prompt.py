"""The LLM brain's system prompt, compiled from the playbook and the call context.

Product facts are deliberately left out: the model must look them up with
``search_knowledge`` so every figure it says can be traced to a passage.
:func:`numbers_in` is the shared vocabulary for that check ("fourteen" and "14" are one number).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from talktrack.brain.base import (
    OUTCOME_CALL_BACK_LATER,
    OUTCOME_FOLLOW_UP_EMAIL,
    OUTCOME_MEETING_REQUESTED,
    OUTCOME_NOT_INTERESTED,
    OUTCOME_PROSPECT_ENDED,
)
from talktrack.brain.context import CallContext
from talktrack.brain.playbook import Objection, Playbook
from talktrack.knowledge.numbers import numbers_in

LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "fi": "Finnish",
    "cs": "Czech",
    "tr": "Turkish",
    "ja": "Japanese",
    "zh": "Chinese",
    "ko": "Korean",
}
END_OUTCOMES = (
    OUTCOME_MEETING_REQUESTED,
    OUTCOME_NOT_INTERESTED,
    OUTCOME_FOLLOW_UP_EMAIL,
    OUTCOME_CALL_BACK_LATER,
    OUTCOME_PROSPECT_ENDED,
)

_Say = Callable[[str], str]


def system_prompt(playbook: Playbook, context: CallContext, *, language: str = "en", now: datetime) -> str:
    """The system message for one call: who the agent is, the call, the plan and the rules."""
    persona = playbook.persona
    say = _renderer(playbook, context)
    spoken = LANGUAGE_NAMES.get(language, language)
    sections = [
        f"You are {persona.name}, a {persona.role} at {persona.company}, on a live phone call with "
        f"{context.prospect_name}. Speak {spoken} only, whatever language the transcript is in.\n"
        f"{playbook.company.name}: {say(playbook.company.one_liner)}\n"
        f"Your goal on this call: {context.goal or playbook.goal}.",
        _call_section(context, now),
        _plan_section(playbook, say),
        _objection_section(playbook, say),
        "Product facts:\n"
        "- Beyond the company line and the pitch above, state product facts (features, prices, numbers, security, "
        "integrations) only from search_knowledge results. Call search_knowledge with the prospect's question "
        "before answering any product question, and never add figures the results do not contain.\n"
        "- If the tool returns nothing relevant, say exactly: "
        f'"{say(playbook.fallbacks.unknown_question)}"',
        f'Off-topic:\n- Decline with "{say(playbook.fallbacks.off_topic)}" and steer back to your last question.',
        _booking_section(playbook, context),
        "Ending the call:\n"
        "- When the call is over, say a short goodbye and call end_call with one outcome: "
        f"{', '.join(END_OUTCOMES)}.\n"
        f'- A good goodbye: "{say(playbook.close.goodbye)}"',
        "Phone style:\n"
        "- One or two short sentences per turn, then stop and listen. Ask one question at a time.\n"
        "- Plain spoken words only: no lists, no markdown, no emoji, no URLs.\n"
        "- Say numbers as words where natural (fourteen days, ten thirty).\n"
        f'- If you did not catch what they said: "{say(playbook.fallbacks.didnt_catch)}"',
        "Compliance:\n"
        "- Never deny being an AI. If asked whether you are a person or a machine, say: "
        f'"{say(playbook.disclosure_line)}"\n'
        f'- If asked who is calling: "{say(playbook.intro_line)}"\n'
        "- If they ask not to be called again, apologise briefly and end the call with outcome not_interested.",
    ]
    return "\n\n".join(s for s in sections if s)


def local_time(now: datetime, timezone: str) -> datetime:
    """``now`` in the prospect's zone (a naive ``now`` is taken as UTC)."""
    moment = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    try:
        return moment.astimezone(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(UTC)


def _renderer(playbook: Playbook, context: CallContext) -> _Say:
    def say(line: str) -> str:
        return playbook.render(line, context)

    return say


def _call_section(context: CallContext, now: datetime) -> str:
    local = local_time(now, context.timezone)
    clock = local.strftime("%I:%M %p").lstrip("0")
    lines = [
        "The call:",
        f"- Prospect: {context.prospect_name} (call them {context.first_name}), at {context.company}.",
        f"- Their time zone: {context.timezone}; their local time now: {local:%A %d %B %Y}, {clock}.",
    ]
    if context.history:
        lines.append(f"- Earlier contact: {context.history}.")
    if context.goal:
        lines.append(f"- Goal of this call: {context.goal}.")
    if context.email:
        lines.append(f"- E-mail on file: {context.email} (confirm it before using it).")
    for key, value in context.extra.items():
        lines.append(f"- {key.replace('_', ' ')}: {value}")
    return "\n".join(lines)


def _plan_section(playbook: Playbook, say: _Say) -> str:
    lines = [
        "How the call goes:",
        "- You have already said the opener and asked whether it is a good time (your first message).",
        f'- When they agree to listen, give the pitch in your own words: "{say(playbook.pitch)}"',
    ]
    if playbook.qualification:
        lines.append("- Then ask these questions in this order, one per turn, skipping any already answered:")
        for i, question in enumerate(playbook.qualification, 1):
            mark = "required" if question.required else "optional, skip if they want to book"
            lines.append(f'  {i}. {question.slot} ({mark}): "{say(question.ask)}"')
    lines.append(f'- Then ask for the meeting: "{say(playbook.close.ask_meeting)}"')
    if playbook.close.soft_retry:
        lines.append(f'- After a first no, offer once: "{say(playbook.close.soft_retry)}"')
    return "\n".join(lines)


def _objection_section(playbook: Playbook, say: _Say) -> str:
    if not playbook.objections:
        return ""
    lines = ["Objections (answer in these words, then return to where you were):"]
    for objection in playbook.objections:
        lines.append(f"- {_objection_line(objection, say)}")
    return "\n".join(lines)


def _objection_line(objection: Objection, say: _Say) -> str:
    heard = ", ".join(f'"{e}"' for e in objection.examples[:3])
    if numbers_in(say(objection.response)):
        # An answer with figures is a product fact: it must come from search_knowledge like any other.
        return f"If they say something like {heard}: look the answer up with search_knowledge and say what it returns."
    answer = f'If they say something like {heard}: "{say(objection.response)}"'
    if objection.end_call:
        answer += f" Then call end_call with outcome {objection.final_outcome}."
    return answer


def _booking_section(playbook: Playbook, context: CallContext) -> str:
    booking = playbook.booking
    minutes = f"{booking.meeting_minutes}-minute " if booking is not None else ""
    return (
        "Booking:\n"
        f"- To book the {minutes}meeting, call check_availability, then propose two concrete slots.\n"
        f"- Say times in the prospect's zone ({context.timezone}), confirm the time they pick and their "
        "e-mail address, then call book_meeting.\n"
        "- If they would rather get an e-mail, use send_follow_up_email; if they want a call later, "
        "use schedule_callback."
    )
