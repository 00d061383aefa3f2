"""Draft objections and FAQ from call transcripts: what the prospect pushed back on or asked, and what the rep said."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from talktrack.brain.intents import is_question, normalize
from talktrack.builder.drafts import DraftFaq, DraftObjection, Unplaced, add_examples
from talktrack.builder.naming import INTENT_DEFAULTS, ends_call, known_intent, similarity, snake_name
from talktrack.builder.transcript import PROSPECT, REP, Transcript, Utterance, stamp

# A prospect statement is a push-back when it carries one of these and the rep answers with empathy.
_PUSHBACK = re.compile(
    r"\b(not|no|never|too|already|locked|contract|budget|expensive|afford|happy with|satisfied|concern|"
    r"worried|risk|can not|do not|does not|will not|would not)\b"
)
_EMPATHY = re.compile(
    r"^(i hear you|understood|totally fair|fair enough|that is fair|fair|makes sense|that makes sense|"
    r"i understand|i get (it|that)|no problem|no worries|of course|good point|absolutely|i see)\b"
)
# Questions the engine already handles itself, so they are no product FAQ.
_SMALL_TALK = re.compile(
    r"\bwho (is|are) (this|you)\b|\bwhat is this (about|regarding)\b|\bwhere are you calling from\b"
    r"|\b(are you|is this) (a |an )?(robot|ai|bot|real|human|machine|recording)\b|\brepeat\b|\bsay (that|it) again\b"
    r"|\bcan you hear me\b|\bare you there\b"
)
# The rep did not really answer: promising a follow-up is no answer to learn.
_DEFLECTION = re.compile(
    r"\b(do not want to guess|not sure|get back to you|let me check|find out|have (our|the|my) team|"
    r"i do not know|follow up by e ?mail)\b"
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
MIN_QUESTION_WORDS = 3
# FAQ candidates this close to an existing entry become a paraphrase of it.
SAME_QUESTION = 0.6
SAME_ANSWER = 0.75
SAME_PUSHBACK = 0.6


@dataclass
class Learned:
    """Entries drafted from calls, and prospect lines that looked useful but could not be used."""

    objections: list[DraftObjection] = field(default_factory=list)
    faq: list[DraftFaq] = field(default_factory=list)
    skipped: list[Unplaced] = field(default_factory=list)


@dataclass
class Merged:
    """Script entries plus learned ones, and what the merge did."""

    objections: list[DraftObjection]
    faq: list[DraftFaq]
    new_objections: int = 0
    new_faq: int = 0
    paraphrases: int = 0
    notes: list[str] = field(default_factory=list)


def sentences(text: str) -> list[str]:
    """A turn split into sentences."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def learn(transcripts: Sequence[Transcript]) -> Learned:
    """Objection and FAQ candidates from every prospect turn that the rep answered; all ``learned``."""
    out = Learned()
    for transcript in transcripts:
        turns = transcript.turns()
        for turn, reply in zip(turns, turns[1:], strict=False):
            if turn.speaker == PROSPECT and reply.speaker == REP:
                _learn_turn(out, transcript, turn, reply)
    return out


def _learn_turn(out: Learned, transcript: Transcript, turn: Utterance, reply: Utterance) -> None:
    where = f"{transcript.source.name} {stamp(turn.start_s)}"
    said = [s for s in sentences(reply.text) if not is_question(s)]
    answer = " ".join(said)
    questions: list[str] = []
    for sentence in sentences(turn.text):
        words = normalize(sentence)
        intent = known_intent(sentence)
        if intent is None and is_question(sentence):
            if len(words.split()) >= MIN_QUESTION_WORDS and not _SMALL_TALK.search(words):
                questions.append(sentence)
            continue
        if intent is None and not (_PUSHBACK.search(words) and _EMPATHY.search(normalize(reply.text))):
            continue
        if not answer:
            out.skipped.append(Unplaced(where, sentence, "the rep answered only with a question"))
            continue
        taken = {o.intent for o in out.objections}
        name = intent or snake_name(sentence, taken, fallback="objection")
        end_call, outcome = INTENT_DEFAULTS.get(name, (ends_call(answer), None))
        out.objections.append(DraftObjection(name, [sentence], answer, where, end_call, outcome, learned=True))
    if not questions:
        return
    if not answer or _DEFLECTION.search(normalize(answer)):
        out.skipped.append(Unplaced(where, " ".join(questions), "the rep did not answer it on the call"))
        return
    out.faq.append(DraftFaq(questions[0], answer, where, examples=questions[1:], learned=True))


def merge(objections: Sequence[DraftObjection], faq: Sequence[DraftFaq], learned: Learned) -> Merged:
    """Add learned entries to the script's: known ones gain paraphrases, new ones are appended."""
    out = Merged([*objections], [*faq])
    for candidate in learned.objections:
        same = next((o for o in out.objections if o.intent == candidate.intent), None)
        if same is None:
            same = next((o for o in out.objections if o.learned and _close(o.examples, candidate.examples[0])), None)
        if same is None:
            out.objections.append(candidate)
            out.new_objections += 1
            continue
        added = add_examples(same.examples, candidate.examples)
        same.heard |= {example: candidate.source for example in same.examples[len(same.examples) - added :]}
        out.paraphrases += added
        if same.learned and not same.response:
            same.response = candidate.response
    for asked in learned.faq:
        known = next((f for f in out.faq if _same_faq(f, asked)), None)
        if known is None:
            out.faq.append(asked)
            out.new_faq += 1
            continue
        added = add_examples(known.examples, [asked.question, *asked.examples], exclude=(known.question,))
        known.heard |= {example: asked.source for example in known.examples[len(known.examples) - added :]}
        out.paraphrases += added
        if added:
            out.notes.append(f"'{asked.question}' ({asked.source}) added as a paraphrase of '{known.question}'")
    return out


def _close(examples: Sequence[str], text: str) -> bool:
    return any(similarity(example, text) >= SAME_PUSHBACK for example in examples)


def _same_faq(known: DraftFaq, asked: DraftFaq) -> bool:
    asked_questions = [asked.question, *asked.examples]
    if any(_close([known.question, *known.examples], q) for q in asked_questions):
        return similarity(known.answer, asked.answer) >= 0.3 or not asked.answer
    return _text_likeness(known.answer, asked.answer) >= SAME_ANSWER


def _text_likeness(a: str, b: str) -> float:
    """Word overlap, or letter-level likeness for transcripts that split or misspell words ("back up", "backup")."""
    squash_a = re.sub(r"[^a-z0-9]", "", normalize(a))
    squash_b = re.sub(r"[^a-z0-9]", "", normalize(b))
    return max(similarity(a, b), difflib.SequenceMatcher(None, squash_a, squash_b).ratio())
