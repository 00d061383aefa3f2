"""Written passages made sayable: sentences, the company speaking as "we", asides dropped."""

from __future__ import annotations

import re

from talktrack.knowledge.chunking import split_sentences

_PARENTHETICAL = re.compile(r"\s*\([^()]*\)")
_BRACKETS = re.compile(r"\s*\[[^\[\]]*\]")
_SPACES = re.compile(r"\s+")
_REPLACEMENTS = ((re.compile(r"\be\.g\.,?", re.I), "for example,"), (re.compile(r"\bi\.e\.,?", re.I), "that is,"))
# Verbs whose third-person form is irregular; the rest lose their -s / -es / -ies.
_IRREGULAR = {"is": "are", "has": "have", "does": "do", "was": "were", "goes": "go"}
_CONTRACTED = {"are": "'re"}


def sentences_of(text: str) -> list[str]:
    """The sentences of a passage worth saying on their own (two words or more); each line is split apart."""
    return [s for line in text.splitlines() for s in split_sentences(line) if len(s.split()) >= 2]


def rephrase(text: str, company: str | None) -> str:
    """Light rephrasing for the phone: drop asides, spell out abbreviations, let the company say "we"."""
    text = _PARENTHETICAL.sub("", text)
    text = _BRACKETS.sub("", text)
    for pattern, spoken in _REPLACEMENTS:
        text = pattern.sub(spoken, text)
    if company:
        text = _first_person(text, company)
    text = _SPACES.sub(" ", text).strip()
    if text and text[-1] not in ".!?":
        text += "."
    return text[:1].upper() + text[1:]


def _first_person(text: str, company: str) -> str:
    name = re.escape(company)

    def subject(match: re.Match[str]) -> str:
        lead, verb = match.group(1), match.group(2)
        plural = _IRREGULAR.get(verb.lower()) or _plural(verb)
        we = "We" if not lead or lead.endswith((". ", "\n")) else "we"
        contracted = _CONTRACTED.get(plural)
        return f"{lead}{we}{contracted}" if contracted else f"{lead}{we} {plural}"

    text = re.sub(rf"(^|[.!?]\s+){name} (employees|customers|staff|support)\b", r"\1Our \2", text)
    text = re.sub(rf"(^|[.!?]\s+){name}\s+([a-z]+s)\b", subject, text)
    text = re.sub(rf"(^|[.!?]\s+){name}'s\b", lambda m: f"{m.group(1)}Our", text)
    # "We use ... and typically consumes" : the second verb of the subject agrees too (after an adverb only,
    # where it cannot be a plural noun).
    text = re.sub(
        r"(\bWe [^.!?]*?\band (?:typically|also|usually|often|then|automatically) )([a-z]+s)\b",
        lambda m: m.group(1) + (_IRREGULAR.get(m.group(2)) or _plural(m.group(2))),
        text,
    )
    text = re.sub(rf"\b[Tt]he {name}\b", "our", text)
    text = re.sub(rf"\b{name}'s\b", "our", text)
    return re.sub(rf"\b(including|by|to|with|from|for) {name}\b", r"\1 us", text)


def _plural(verb: str) -> str:
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    if verb.endswith(("sses", "shes", "ches", "xes", "zes")):
        return verb[:-2]
    return verb[:-1]
