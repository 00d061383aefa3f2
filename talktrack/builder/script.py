"""Split a sales-script PDF into the parts of a playbook, by its headings, labels and quotes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from talktrack.builder.drafts import DraftFaq, DraftObjection, DraftQuestion, Unplaced, add_examples
from talktrack.builder.errors import BuildError
from talktrack.builder.naming import INTENT_DEFAULTS, ends_call, known_intent, slot_for, snake_name
from talktrack.builder.pdf_text import ScriptText, read_pdf_text

# Section kinds by heading words, tried in order ("Discovery questions" is not the FAQ).
SECTION_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("objections", re.compile(r"objection|push ?back")),
    ("discovery", re.compile(r"discovery|qualif|questions to ask|needs analysis")),
    ("faq", re.compile(r"\bfaq\b|product question|common question|questions they ask|product facts|answers")),
    ("pricing", re.compile(r"pric|cost|plans")),
    ("voicemail", re.compile(r"voicemail|voice mail")),
    ("closing", re.compile(r"clos|booking|next steps|the ask|ask for the meeting")),
    ("pitch", re.compile(r"pitch|value prop|elevator")),
    ("opening", re.compile(r"open|intro|greeting|permission")),
)
_OPENING_LABELS = (
    ("hello_line", re.compile(r"say nothing|silen|no answer|pick up")),
    ("intro", re.compile(r"who (is|'s) (calling|this)|who you are|ask who")),
    ("permission", re.compile(r"permission")),
    ("opener", re.compile(r"open|greeting|intro")),
)
_PITCH_LABELS = (("one_liner", re.compile(r"one[- ]?liner|elevator|company|about us")), ("pitch", re.compile(r"pitch")))
_CLOSING_LABELS = (
    ("decline", re.compile(r"still (say )?no|no again|second no|declin")),
    ("soft_retry", re.compile(r"hesitat|unsure|not sure|maybe|first no")),
    ("reask", re.compile(r"again|re-?ask|repeat")),
    ("confirm", re.compile(r"\byes\b|agree|accept|confirm")),
    ("goodbye", re.compile(r"sign[- ]?off|goodbye|\bbye\b|\bend\b|wrap")),
    ("ask_meeting", re.compile(r"ask|meeting|demo|close|book")),
)
_PLACEHOLDERS = {
    "first name": "{first_name}", "firstname": "{first_name}", "name": "{first_name}", "prospect": "{first_name}",
    "prospect name": "{prospect_name}", "full name": "{prospect_name}", "contact name": "{prospect_name}",
    "company": "{company}", "their company": "{company}", "prospect company": "{company}", "account": "{company}",
    "company name": "{company}", "your name": "{agent_name}", "rep name": "{agent_name}", "my name": "{agent_name}",
    "agent name": "{agent_name}", "your company": "{agent_company}", "our company": "{agent_company}",
    "your role": "{agent_role}", "your title": "{agent_role}",
}  # fmt: skip
_LABEL = re.compile(r"^(?:\d+[.)]\s*)?(?:\((?:optional)\)\s*)?([A-Za-z][^:\"“”?]{0,60}?)\s*:\s+(.*)$")
_QUOTED = re.compile(r"[\"“]([^\"“”]+)[\"”]")
_DASHED = re.compile(
    r"^[\"“](?P<said>[^\"“”]+)[\"”]\s*[—–-]+\s*(?:response|answer|reply|say)\s*:\s*(?P<reply>.+)$", re.I
)
_QUESTION_LABEL = re.compile(r"^(q|question|objection|they say)$", re.I)
_ANSWER_LABEL = re.compile(r"^(a|answer|response|reply|you say)$", re.I)
_EXAMPLES_LABEL = re.compile(r"also (heard|asked|said) as|examples?|they might say|variants?|phrasings?", re.I)
_REASK_LABEL = re.compile(r"short( form)?|re-?ask|follow[- ]?up|if unclear", re.I)
_FROM_COMPANY = re.compile(r"\bfrom ([A-Z][\w&-]*(?: [A-Z][\w&-]*)*)")


@dataclass
class ScriptSections:
    """The playbook parts found in a script, with what was left over."""

    source: str
    title: str | None = None
    company: str | None = None
    lines: dict[str, str] = field(default_factory=dict)  # opener, permission, hello_line, intro, pitch, ...
    questions: list[DraftQuestion] = field(default_factory=list)
    objections: list[DraftObjection] = field(default_factory=list)
    faq: list[DraftFaq] = field(default_factory=list)
    pricing: list[str] = field(default_factory=list)
    close: dict[str, str] = field(default_factory=dict)
    found: dict[str, str] = field(default_factory=dict)  # heading as printed -> section kind
    unplaced: list[Unplaced] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# The seam for another splitter (an LLM reading ``ScriptText.plain``): text in, the same sections out.
Splitter = Callable[[ScriptText], ScriptSections]


@dataclass
class _Item:
    label: str | None
    body: str
    quotes: list[str]

    @property
    def spoken(self) -> str | None:
        """The line to say: the quoted text, or a label's text; None for notes to the rep."""
        if len(self.quotes) == 1 and (self.label or _mostly_quoted(self.body, self.quotes)):
            return self.quotes[0].strip()
        if self.label and not self.quotes:
            return self.body.strip()
        return None


def read_script(path: Path, splitter: Splitter | None = None) -> ScriptSections:
    """Extract a script PDF and split it; BuildError when no playbook section is recognisable."""
    text = read_pdf_text(path)
    sections = (splitter or split_sections)(text)
    if not (sections.lines or sections.questions or sections.objections or sections.faq):
        raise BuildError(
            f"{path}: no recognisable script sections (found headings: {', '.join(sections.found) or 'none'})",
            fix="give the script headings such as 'Opening', 'Pitch', 'Discovery questions', "
            "'Objection handling', 'Pricing' and 'Closing', with spoken lines in quotes",
        )
    return sections


def split_sections(text: ScriptText) -> ScriptSections:
    """Split a script's paragraphs into playbook parts by heading, label and quote heuristics."""
    out = ScriptSections(source=str(text.source))
    groups: list[tuple[str, str, list[str]]] = [("preamble", "(before the first heading)", [])]
    title_size = max((p.size for p in text.paragraphs if p.heading and p.page == 1), default=0.0)
    for paragraph in text.paragraphs:
        kind = _section_kind(paragraph.text) if paragraph.heading or _bare_heading(paragraph.text) else None
        if paragraph.heading and out.title is None and paragraph.size >= title_size and kind is None:
            out.title = paragraph.text
        elif paragraph.heading or kind is not None:
            groups.append((kind or "other", paragraph.text, []))
            out.found[paragraph.text] = kind or "other"
        else:
            groups[-1][2].append(paragraph.text)
    for kind, heading, paragraphs in groups:
        _HANDLERS.get(kind, _unknown)(out, heading, [_item(p) for p in paragraphs])
    _finish(out)
    return out


def to_template(line: str) -> tuple[str, list[str]]:
    """A script line with [First name]-style fields as playbook placeholders; also returns unknown fields."""
    unknown: list[str] = []

    def swap(match: re.Match[str]) -> str:
        key = " ".join(match.group(1).lower().replace("_", " ").split())
        if key in _PLACEHOLDERS:
            return _PLACEHOLDERS[key]
        unknown.append(match.group(0))
        return match.group(1)

    # Braces are placeholder syntax in a playbook; stray ones in the script are plain text.
    cleaned = line.replace("{", "(").replace("}", ")")
    return re.sub(r"\[([^\]]{1,40})\]", swap, cleaned), unknown


def _section_kind(heading: str) -> str | None:
    said = heading.lower()
    return next((kind for kind, pattern in SECTION_RULES if pattern.search(said)), None)


def _bare_heading(text: str) -> bool:
    # Without font cues a short line naming a known section still reads as a heading.
    return len(text.split()) <= 4 and not re.search(r"[.:;,\"“?!]", text)


def _item(text: str) -> _Item:
    quotes = _QUOTED.findall(text)
    match = _LABEL.match(text)
    if match and len(match.group(1).split()) <= 8 and not text.lstrip().startswith(("\"", "“")):
        return _Item(match.group(1).strip(), match.group(2).strip(), _QUOTED.findall(match.group(2)))
    return _Item(None, text.strip(), quotes)


def _mostly_quoted(body: str, quotes: list[str]) -> bool:
    return sum(len(q) + 2 for q in quotes) >= 0.6 * len(body.strip())


def _first_label(label: str | None, rules: tuple[tuple[str, re.Pattern[str]], ...]) -> str | None:
    said = (label or "").lower()
    return next((name for name, pattern in rules if pattern.search(said)), None) if said else None


def _note(out: ScriptSections, heading: str, item: _Item, reason: str = "a note to the rep, not a spoken line") -> None:
    text = f"{item.label}: {item.body}" if item.label else item.body
    out.unplaced.append(Unplaced(heading, text, reason))


def _labelled(
    out: ScriptSections,
    heading: str,
    items: list[_Item],
    rules: tuple[tuple[str, re.Pattern[str]], ...],
    target: dict[str, str],
    order: tuple[str, ...],
) -> None:
    """Place each spoken line by its label, else into the first still-empty slot of ``order``."""
    for item in items:
        spoken = item.spoken
        name = _first_label(item.label, rules)
        if spoken is None:
            _note(out, heading, item)
            continue
        if name is None and item.label is not None:
            _note(out, heading, item, f"label '{item.label}' is not a known part of this section")
            continue
        name = name or next((n for n in order if n not in target), None)
        if name is None or name in target:
            _note(out, heading, item, "a second line for a part that is already filled")
            continue
        target[name] = spoken


def _opening(out: ScriptSections, heading: str, items: list[_Item]) -> None:
    _labelled(out, heading, items, _OPENING_LABELS, out.lines, ("opener", "permission"))


def _pitch(out: ScriptSections, heading: str, items: list[_Item]) -> None:
    _labelled(out, heading, items, _PITCH_LABELS, out.lines, ("pitch", "one_liner"))


def _closing(out: ScriptSections, heading: str, items: list[_Item]) -> None:
    _labelled(out, heading, items, _CLOSING_LABELS, out.close, ("ask_meeting", "confirm", "goodbye"))


def _voicemail(out: ScriptSections, heading: str, items: list[_Item]) -> None:
    _labelled(out, heading, items, (("voicemail", re.compile(r".")),), out.lines, ("voicemail",))


def _pricing(out: ScriptSections, heading: str, items: list[_Item]) -> None:
    for item in items:
        spoken = item.spoken
        if spoken is None:
            _note(out, heading, item)
        else:
            out.pricing.append(spoken)


def _discovery(out: ScriptSections, heading: str, items: list[_Item]) -> None:
    taken: set[str] = set()
    for item in items:
        spoken = item.spoken
        if item.label and _REASK_LABEL.search(item.label) and spoken and out.questions:
            out.questions[-1].reask = spoken
            continue
        if spoken is None or not spoken.rstrip().endswith("?"):
            _note(out, heading, item, "not a question" if spoken else "a note to the rep, not a spoken line")
            continue
        slot = slot_for(spoken, taken)
        taken.add(slot)
        out.questions.append(DraftQuestion(slot, spoken, required="(optional)" not in item.body.lower()))


def _exchanges(out: ScriptSections, heading: str, items: list[_Item], add: Callable[[str, str, str], None]) -> None:
    """Read "said" -> reply pairs (dashed blocks or Q:/A: lines) and their example phrasings."""
    pending: str | None = None
    last: str | None = None
    for item in items:
        raw = f"{item.label}: {item.body}" if item.label else item.body
        dashed = _DASHED.match(raw)
        if dashed:
            reply = _QUOTED.findall(dashed.group("reply")) or [dashed.group("reply")]
            last = dashed.group("said").strip()
            add(last, reply[0].strip(), "")
        elif item.label and _QUESTION_LABEL.match(item.label):
            pending = (item.quotes or [item.body])[0].strip()
        elif item.label and _ANSWER_LABEL.match(item.label) and pending is not None:
            add(pending, (item.quotes or [item.body])[0].strip(), "")
            last, pending = pending, None
        elif item.label and _EXAMPLES_LABEL.search(item.label) and last is not None:
            phrases = item.quotes or [p for p in re.split(r"[,;]\s*", item.body.rstrip(".")) if p]
            for phrase in phrases:
                add(last, "", phrase.strip())
        else:
            _note(out, heading, item)
    if pending is not None:
        out.unplaced.append(Unplaced(heading, pending, "a question without an answer"))


def _objections(out: ScriptSections, heading: str, items: list[_Item]) -> None:
    def add(said: str, reply: str, example: str) -> None:
        if example:
            add_examples(_objection_for(out, said).examples, [example])
            return
        intent = known_intent(said) or snake_name(said, {o.intent for o in out.objections}, fallback="objection")
        existing = next((o for o in out.objections if o.intent == intent), None)
        if existing is not None:
            out.warnings.append(f"objection '{said}' repeats intent {intent}; its phrasing was added as an example")
            add_examples(existing.examples, [said])
            return
        end_call, outcome = INTENT_DEFAULTS.get(intent, (ends_call(reply), None))
        source = f"script: {heading}"
        out.objections.append(DraftObjection(intent, [said], reply, source, end_call, outcome, label=said))

    _exchanges(out, heading, items, add)


def _faq(out: ScriptSections, heading: str, items: list[_Item]) -> None:
    def add(said: str, reply: str, example: str) -> None:
        if example:
            faq = next((f for f in out.faq if f.question == said), None)
            if faq is not None:
                add_examples(faq.examples, [example], exclude=(faq.question,))
            return
        out.faq.append(DraftFaq(said, reply, f"script: {heading}"))

    _exchanges(out, heading, items, add)


def _unknown(out: ScriptSections, heading: str, items: list[_Item]) -> None:
    for item in items:
        _note(out, heading, item, "its section is not a playbook part")


def _objection_for(out: ScriptSections, said: str) -> DraftObjection:
    return next(o for o in out.objections if said in (o.label, *o.examples))


def _finish(out: ScriptSections) -> None:
    """Guess the company name and turn script fields into placeholders."""
    opener = out.lines.get("opener", "")
    found = _FROM_COMPANY.search(opener.replace("[", " ").replace("]", " "))
    if found:
        out.company = found.group(1)
    elif out.title:
        out.company = out.title.split()[0]
    for target in (out.lines, out.close):
        for name, line in target.items():
            target[name] = _templated(out, name, line)
    out.pricing = [_templated(out, "pricing", line) for line in out.pricing]
    for question in out.questions:
        question.ask = _templated(out, question.slot, question.ask)
        if question.reask:
            question.reask = _templated(out, question.slot, question.reask)
    for objection in out.objections:
        objection.response = _templated(out, objection.intent, objection.response)
    for faq in out.faq:
        faq.answer = _templated(out, faq.question, faq.answer)


def _templated(out: ScriptSections, where: str, line: str) -> str:
    templated, unknown = to_template(line)
    for name in unknown:
        out.warnings.append(f"{where}: {name} is not a field a call can fill; it will be spoken as written")
    return templated


_HANDLERS: dict[str, Callable[[ScriptSections, str, list[_Item]], None]] = {
    "opening": _opening,
    "pitch": _pitch,
    "discovery": _discovery,
    "objections": _objections,
    "faq": _faq,
    "pricing": _pricing,
    "closing": _closing,
    "voicemail": _voicemail,
}
