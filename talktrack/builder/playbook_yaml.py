"""Write a drafted playbook as commented YAML that a person can review and edit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from talktrack.builder.drafts import DraftFaq, DraftObjection, DraftQuestion

DEFAULT_ACKNOWLEDGEMENTS = ["Got it.", "Makes sense.", "Thanks, that helps.", "Okay, great."]
DEFAULT_FALLBACKS = {
    "didnt_catch": "Sorry, I didn't catch that. Could you say it again?",
    "off_topic": "Ha, I'd better stay in my lane on that one!",
    "unknown_question": "Good question. I don't want to guess, so I'll have our team e-mail you the details.",
}
DEFAULT_REPROMPTS = ["Are you still there?", "Hello? Can you hear me okay?"]
DEFAULT_SILENCE_GOODBYE = "Seems like I lost you. I'll try you another time. Bye for now!"


@dataclass
class PlaybookDraft:
    """Everything playbook.yaml will hold; ``defaults`` names the fields the script did not provide."""

    persona: dict[str, str]
    company: dict[str, str]
    goal: str
    opener: str
    hello_line: str
    permission: str
    pitch: str
    questions: list[DraftQuestion]
    objections: list[DraftObjection]
    faq: list[DraftFaq]
    close: dict[str, str]
    voicemail_message: str
    source: str
    languages: list[str] = field(default_factory=lambda: ["en"])
    defaults: set[str] = field(default_factory=set)


def _q(text: str) -> str:
    # A JSON string is a valid double-quoted YAML scalar: safe for ':', '#' and quotes.
    return json.dumps(text, ensure_ascii=False)


def _origin(draft: PlaybookDraft, name: str) -> str:
    return "  # default: the script has none; edit it" if name in draft.defaults else ""


def render_playbook_yaml(draft: PlaybookDraft) -> str:
    """The playbook as YAML with comments on where each part came from."""
    out = [
        f"# Drafted by `talktrack agent build` from {draft.source}.",
        "# Review every line: each one is spoken by text-to-speech, and the agent states no product",
        "# fact that is not written here. Entries marked `learned: true` come from call recordings.",
        "#",
        "# Placeholders: {first_name} {prospect_name} {company} change per call;",
        "# {agent_name} {agent_role} {agent_company} come from persona.",
        "",
        "persona:",
        *(f"  {key}: {_q(value)}{_origin(draft, f'persona.{key}')}" for key, value in draft.persona.items()),
        "",
        "company:",
        *(f"  {key}: {_q(value)}{_origin(draft, f'company.{key}')}" for key, value in draft.company.items()),
        "",
        f"goal: {_q(draft.goal)}",
        "",
        "# Spoken after the prospect says hello, followed by the permission question.",
        f"opener: {_q(draft.opener)}{_origin(draft, 'opener')}",
        "# Spoken when the prospect picks up and stays silent.",
        f"hello_line: {_q(draft.hello_line)}{_origin(draft, 'hello_line')}",
        f"permission: {_q(draft.permission)}{_origin(draft, 'permission')}",
        f"pitch: {_q(draft.pitch)}{_origin(draft, 'pitch')}",
        "",
        "# Asked in order; each answer fills its slot. required: false questions may be skipped.",
        "qualification:" + ("" if draft.questions else " []"),
    ]
    for question in draft.questions:
        out += [f"  - slot: {question.slot}", f"    ask: {_q(question.ask)}"]
        if question.reask:
            out.append(f"    reask: {_q(question.reask)}")
        out.append(f"    required: {str(question.required).lower()}")
    out += [
        "",
        "# end_call: true ends the call after the response, recording outcome (default: the intent).",
        "objections:" + ("" if draft.objections else " []"),
    ]
    for objection in draft.objections:
        out += _objection(objection)
    out += ["", "# The only product facts the agent may state.", "faq:" + ("" if draft.faq else " []")]
    for faq in draft.faq:
        out += _faq(faq)
    out += ["", "close:"]
    out += [f"  {key}: {_q(value)}{_origin(draft, f'close.{key}')}" for key, value in draft.close.items()]
    out += _defaults_block(draft)
    return "\n".join(out) + "\n"


def _objection(objection: DraftObjection) -> list[str]:
    lines = [f"  # from {objection.source}" + ("; drafted from a call, review it" if objection.learned else "")]
    lines += [f"  - intent: {objection.intent}", "    examples:"]
    lines += _examples(objection.examples, objection.heard)
    lines.append(f"    response: {_q(objection.response)}")
    if objection.end_call:
        lines.append("    end_call: true")
        if objection.outcome:
            lines.append(f"    outcome: {objection.outcome}")
    if objection.fills_slot:
        lines.append(f"    fills_slot: {objection.fills_slot}")
    if objection.learned:
        lines.append("    learned: true")
    return lines


def _examples(examples: list[str], heard: dict[str, str]) -> list[str]:
    return [f"      - {_q(e)}" + (f"  # heard in {heard[e]}" if e in heard else "") for e in examples]


def _faq(faq: DraftFaq) -> list[str]:
    lines = [f"  # from {faq.source}" + ("; drafted from a call, review it" if faq.learned else "")]
    lines.append(f"  - question: {_q(faq.question)}")
    if faq.examples:
        lines.append("    examples:")
        lines += _examples(faq.examples, faq.heard)
    lines.append(f"    answer: {_q(faq.answer)}")
    if faq.learned:
        lines.append("    learned: true")
    return lines


def _defaults_block(draft: PlaybookDraft) -> list[str]:
    return [
        "",
        "# The parts below are not in a sales script; they are sensible defaults to adapt.",
        "# Rotated in front of the next question after each qualification answer.",
        "acknowledgements:",
        *(f"  - {_q(line)}" for line in DEFAULT_ACKNOWLEDGEMENTS),
        "",
        "fallbacks:",
        *(f"  {key}: {_q(line)}" for key, line in DEFAULT_FALLBACKS.items()),
        "",
        "# Said after the first and second silences; silence_goodbye after the third.",
        "reprompts:",
        *(f"  - {_q(line)}" for line in DEFAULT_REPROMPTS),
        f"silence_goodbye: {_q(DEFAULT_SILENCE_GOODBYE)}",
        "",
        f"voicemail_message: {_q(draft.voicemail_message)}{_origin(draft, 'voicemail_message')}",
        "",
        f"languages: [{', '.join(draft.languages)}]",
        "",
        "# To book on a real calendar, fill in and uncomment (see the bundled backbeam agent):",
        "# booking:",
        "#   meeting_minutes: 30",
        "#   business_hours: \"09:00-17:00\"",
        "#   timezone: America/New_York",
        "#   host_name: Your Name",
        "#   host_email: you@yourcompany.example",
    ]
