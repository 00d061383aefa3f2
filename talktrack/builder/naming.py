"""Names for drafted entries: known objection intents, qualification slots, and text similarity."""

from __future__ import annotations

import re
from collections.abc import Collection

from talktrack.brain.intents import normalize, stem
from talktrack.brain.playbook import RESERVED_INTENTS

# The objection intents the engine and the sample playbook already know, matched on
# normalized text ("I'm" -> "i am", "can't" -> "can not"). Order matters: specific first.
KNOWN_INTENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("busy", re.compile(r"\b(i am|am) busy\b|\bin a meeting\b|\bdriving\b|\bmiddle of something\b|\bbad time\b"
                        r"|\bcan not talk\b|\babout to (jump|hop) on\b")),
    ("not_interested", re.compile(r"\bnot (really )?interested\b|\bno thank|\btake (me|us) off\b"
                                  r"|\b(do not|stop) call|\bnot looking for\b")),
    ("send_email", re.compile(r"\be ?mail (me|us|it|that)\b|\bsend (me|us|over) (an? )?(email|e mail|info"
                              r"|information|something|some|details|the details)\b|\bin writing\b")),
    ("how_much", re.compile(r"\bhow much\b|\bwhat .*\b(cost|price|pricing|charge)\b|\babout (the )?pricing\b"
                            r"|\bis it expensive\b|\bwhat is the (price|pricing|cost)\b")),
    ("call_later", re.compile(r"\bcall (me |us )?(back|later|again|tomorrow|next)\b|\b(another|other) time\b"
                              r"|\bnot (a )?good time\b|\bnot (right )?now\b|\btry (me|us) (later|tomorrow|next)\b")),
    ("already_have_backup", re.compile(r"\balready (have|use|using|got|covered)\b|\bvendor for that\b"
                                       r"|\balready backs? (it |that )?up\b|\bwe (use|are using) own ?backup\b")),
)

# What a known intent does to the call when the script or the calls do not say.
INTENT_DEFAULTS: dict[str, tuple[bool, str | None]] = {
    "not_interested": (True, "not_interested"),
    "send_email": (True, "follow_up_email"),
    "how_much": (False, None),
    "call_later": (True, "call_back_later"),
    "already_have_backup": (False, None),
    "busy": (True, "call_back_later"),
}
# Objections that also answer a qualification question when that slot exists.
INTENT_FILLS = {"already_have_backup": "current_tool"}

SLOT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("decision_maker", re.compile(r"\bwho else\b|\bdecision\b|\bweigh in\b|\bsign off\b|\bapprov")),
    ("team_size", re.compile(r"\bhow many\b|\bnumber of (users|people|seats)\b|\bteam size\b")),
    ("budget", re.compile(r"\bbudget\b")),
    ("timeline", re.compile(r"\bwhen\b|\bquarter\b|\btimeline\b|\bthis year\b|\bhow soon\b")),
    ("current_tool", re.compile(r"\btoday\b|\bcurrently\b|\bright now\b|\bat the moment\b|\bcurrent\b")),
)

_GOODBYE = re.compile(r"\b(have a (good|great|nice) (one|day|week)|bye|talk soon|take care)\b", re.I)
# Words that never name an intent or a slot.
_STOP = frozenset(
    "a an the is are am was were be been i you we it its this that these those to of in on for and or do does "
    "did your my our me us can could would will so just well at with as by if there their they them have has "
    "had any some about from also into onto until right now really actually honestly frankly basically okay "
    "yeah yes oh uh um hmm like mean think guess sure well look listen see then than very quite pretty "
    "another other next last year month week day today tomorrow what how who which where when why whether "
    "please thanks thank".split()
)


def known_intent(text: str) -> str | None:
    """The known objection intent a phrase expresses, if any."""
    said = normalize(text)
    return next((intent for intent, pattern in KNOWN_INTENTS if pattern.search(said)), None)


def content_words(text: str) -> list[str]:
    """Normalized words that carry meaning, in order."""
    return [w for w in normalize(text).split() if w not in _STOP and not w.isdigit()]


def snake_name(text: str, taken: Collection[str], *, max_words: int = 3, fallback: str = "item") -> str:
    """A new lower_snake name from a phrase's content words, unique among ``taken`` and the built-in intents."""
    words = [re.sub(r"[^a-z0-9]", "", w) for w in content_words(text)]
    base = "_".join([w for w in words if w][:max_words]) or fallback
    if not base[0].isalpha():
        base = f"{fallback}_{base}"
    name, n = base, 2
    while name in taken or name in RESERVED_INTENTS:
        name, n = f"{base}_{n}", n + 1
    return name


def slot_for(question: str, taken: Collection[str]) -> str:
    """A slot name for a qualification question: a familiar one when it fits, else from its words."""
    said = normalize(question)
    for slot, pattern in SLOT_RULES:
        if pattern.search(said) and slot not in taken:
            return slot
    return snake_name(question, taken, fallback="answer")


def ends_call(response: str) -> bool:
    """True when a response says goodbye, so the call ends after it."""
    return bool(_GOODBYE.search(response))


def similarity(a: str, b: str) -> float:
    """Overlap of two texts' stemmed content words (0..1), relative to the shorter one."""
    left = {stem(w) for w in content_words(a)}
    right = {stem(w) for w in content_words(b)}
    if not left or not right:
        return 0.0
    return len(left & right) / min(len(left), len(right))
