"""The LLM splitter: a chat model reads the script and returns its playbook parts as JSON.

Used by ``talktrack agent build --llm`` with any OpenAI-compatible endpoint (the LLM brain's settings). The
model only sorts the script's own words: a spoken line it returns that the script does not contain is dropped
with a warning, and anything it leaves out (or a failed request) falls back to the heading heuristics.
"""

from __future__ import annotations

import json
import re
from typing import Any

from openai import OpenAI, OpenAIError

from talktrack.builder.drafts import DraftFaq, DraftObjection, DraftQuestion
from talktrack.builder.naming import INTENT_DEFAULTS, known_intent, slot_for, snake_name
from talktrack.builder.pdf_text import ScriptText
from talktrack.builder.script import ScriptSections, Splitter, split_sections, to_template

INSTRUCTIONS = """You turn a sales call script into the parts of a playbook. Reply with one JSON object:
{"company": str, "opener": str, "permission": str, "pitch": str,
 "questions": [{"ask": str}],
 "objections": [{"prospect_says": [str], "response": str}],
 "faq": [{"question": str, "answer": str}],
 "pricing": [str],
 "close": {"ask_meeting": str, "confirm": str, "goodbye": str}}
Copy every spoken line word for word from the script; never write a line the script does not contain.
Leave out notes to the rep. Use "" or [] for a part the script does not have."""

_LINES = ("opener", "permission", "pitch")
_CLOSE = ("ask_meeting", "confirm", "goodbye")
_SPACE = re.compile(r"\s+")


def llm_splitter(base_url: str, api_key: str, model: str, *, timeout_s: float = 120.0) -> Splitter:
    """A splitter that asks the model, keeping the heuristics' parts wherever the model gives nothing usable."""
    client = OpenAI(base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=1)

    def split(text: ScriptText) -> ScriptSections:
        fallback = split_sections(text)
        try:
            response = client.chat.completions.create(
                model=model,
                messages=[{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": text.plain}],
                response_format={"type": "json_object"},
                temperature=0,
            )
            data = json.loads(response.choices[0].message.content or "")
            if not isinstance(data, dict):
                raise ValueError("the reply is not a JSON object")
        except (OpenAIError, ValueError) as exc:
            fallback.warnings.append(f"the LLM did not split the script ({type(exc).__name__}: {exc}); headings used")
            return fallback
        return merge_reply(data, text, fallback)

    return split


def merge_reply(data: dict[str, Any], text: ScriptText, fallback: ScriptSections) -> ScriptSections:
    """The model's parts where they are the script's own words, the heuristics' parts elsewhere."""
    script = _flat(text.plain)
    out = ScriptSections(source=fallback.source, title=fallback.title, found=dict(fallback.found))
    out.unplaced, out.warnings = list(fallback.unplaced), list(fallback.warnings)

    def spoken(value: Any, where: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return None
        line = value.strip().strip("\"“”")
        if _flat(line) not in script:
            out.warnings.append(f"LLM: dropped {where} not found in the script: {line[:80]!r}")
            return None
        template, unknown = to_template(line)
        out.warnings += [f"LLM: unknown field {field} in {where}" for field in unknown]
        return template

    company = data.get("company")
    out.company = company.strip() if isinstance(company, str) and company.strip() else fallback.company
    for name in _LINES:
        line = spoken(data.get(name), name)
        if line or name in fallback.lines:
            out.lines[name] = line or fallback.lines[name]
    for name, line in fallback.lines.items():
        out.lines.setdefault(name, line)
    close = data.get("close")
    close = close if isinstance(close, dict) else {}
    for name in _CLOSE:
        line = spoken(close.get(name), f"close.{name}")
        if line or name in fallback.close:
            out.close[name] = line or fallback.close[name]
    for name, line in fallback.close.items():
        out.close.setdefault(name, line)
    out.questions = _questions(data.get("questions"), spoken) or fallback.questions
    out.objections = _objections(data.get("objections"), spoken) or fallback.objections
    out.faq = _faq(data.get("faq"), spoken) or fallback.faq
    pricing = [line for item in _list(data.get("pricing")) if (line := spoken(item, "pricing"))]
    out.pricing = pricing or fallback.pricing
    return out


def _questions(items: Any, spoken: Any) -> list[DraftQuestion]:
    out: list[DraftQuestion] = []
    for item in _list(items):
        ask = spoken(item.get("ask") if isinstance(item, dict) else None, "question")
        if ask:
            out.append(DraftQuestion(slot=slot_for(ask, [q.slot for q in out]), ask=ask))
    return out


def _objections(items: Any, spoken: Any) -> list[DraftObjection]:
    out: list[DraftObjection] = []
    for item in _list(items):
        if not isinstance(item, dict):
            continue
        examples = [e.strip() for e in _list(item.get("prospect_says")) if isinstance(e, str) and e.strip()]
        response = spoken(item.get("response"), "objection response")
        if not examples or not response:
            continue
        taken = [o.intent for o in out]
        intent = known_intent(examples[0]) or snake_name(examples[0], taken, fallback="objection")
        if intent in taken:
            intent = snake_name(examples[0], taken, fallback="objection")
        end_call, outcome = INTENT_DEFAULTS.get(intent, (False, None))
        out.append(DraftObjection(intent, examples, response, "script (LLM)", end_call=end_call, outcome=outcome))
    return out


def _faq(items: Any, spoken: Any) -> list[DraftFaq]:
    out: list[DraftFaq] = []
    for item in _list(items):
        if not isinstance(item, dict):
            continue
        question = item.get("question")
        answer = spoken(item.get("answer"), "FAQ answer")
        if isinstance(question, str) and question.strip() and answer:
            out.append(DraftFaq(question.strip(), answer, "script (LLM)"))
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _flat(text: str) -> str:
    return _SPACE.sub(" ", text.replace("“", '"').replace("”", '"').replace("’", "'")).strip().lower()
