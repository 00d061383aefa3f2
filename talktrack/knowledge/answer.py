"""Spoken answers from retrieved passages: one or two sentences a person would say, or an honest abstention.

The embedded brain answers extractively: it picks the sentences of the retrieved chunks that best answer the
question and rephrases them lightly for the phone (the company speaks as "we", asides dropped). Nothing is added
that the passages do not say: a rephrased answer whose numbers are not all in its sources is discarded.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from threading import Lock

import numpy as np
import numpy.typing as npt

from talktrack.knowledge.numbers import numbers_in
from talktrack.knowledge.retrieval import Hit, KnowledgeBase
from talktrack.knowledge.speech import rephrase, sentences_of

# Below this cosine between the question and the best sentence the knowledge base does not cover the question.
MIN_SIMILARITY = 0.35
SENTENCE_CACHE = 4096
MAX_SENTENCES = 8
# A question this close to some passage is about the product, even when the documents do not answer it.
RELATED_SIMILARITY = 0.2
# A second sentence joins the first only when it is nearly as relevant.
SECOND_SENTENCE_RATIO = 0.85
MAX_WORDS = 45

_STOP = frozenset(
    "a an and are as at be by can could do does for from have has how i if in into is it its me my of on or our "
    "so that the their them there these they this to us we what when where which who will with would you your "
    "yours about any tell".split()
)
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|none|n't)\b|n't\b", re.IGNORECASE)
_YES_NO = re.compile(r"^(?:do|does|did|is|are|was|were|can|could|will|would|have|has|should)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
# Acronyms and product names, written with two capitals or more (HIPAA, FedRAMP, ServiceNow): the terms a
# question hinges on. Plain capitalised words are left out: speech-to-text capitalises too freely.
_NAMES = re.compile(r"\b[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z0-9]*\b")
# A sentence that leans on the one before it: "It is performed by ...", "Enterprise customers also get ...".
_PRONOUN = re.compile(r"^(?:It|This|That|They|These|Those)\b|^\w+(?: \w+)? also\b")
# What kind of sentence answers what kind of question (who → a name, how often → a frequency, ...).
_ANSWER_TYPES = tuple(
    (re.compile(asked, re.IGNORECASE), re.compile(answer))
    for asked, answer in (
        (r"^who\b", r"\b(?:by|from) [A-Z]|\b[A-Z]\w+ (?:&|and) [A-Z]|\b(?:LLP|Inc|firm)\b"),
        (r"\bhow (?:often|frequently)\b", r"\b(?:every|each|twice|daily|hourly|weekly|annually|a year|times)\b"),
        (r"\bhow (?:much|many)\b|\b(?:price|cost)", r"\$|%|\bpercent\b|\bcosts?\b|\bfree\b"),
        (r"\bhow (?:long|fast|quickly|soon)\b", r"\b(?:minutes?|hours?|days?|weeks?|months?|years?)\b"),
        (r"^where\b", r"\b(?:in|at) [A-Z]"),
        (r"\bhow (?:can|do) (?:i|we) (?:get|obtain|see)\b", r"\b(?:request|ask|through|contact)\b"),
    )
)


@dataclass(frozen=True)
class SpokenAnswer:
    """What the agent says, and what it stands on."""

    text: str
    sources: tuple[str, ...]
    passages: tuple[str, ...]
    confidence: float


@dataclass(frozen=True)
class AnswerResult:
    """The outcome of one question: an answer, or the reason to abstain; always the evidence looked at."""

    answer: SpokenAnswer | None
    reason: str
    confidence: float
    hits: tuple[Hit, ...]
    ms: float

    @property
    def related(self) -> bool:
        """Whether the question is about what the documents discuss (answered or not)."""
        return any((hit.similarity or 0.0) >= RELATED_SIMILARITY for hit in self.hits)

    def record(self) -> dict[str, object]:
        """The part that goes in the call record."""
        return {
            "answered": self.answer is not None,
            "reason": self.reason,
            "confidence": round(self.confidence, 3),
            "sources": list(self.answer.sources) if self.answer else [h.chunk.citation for h in self.hits],
            "passages": [h.chunk.id for h in self.hits],
            "ms": round(self.ms, 1),
        }


class Answerer:
    """Answers product questions from one knowledge base."""

    def __init__(
        self, kb: KnowledgeBase, *, company: str | None = None, min_similarity: float = MIN_SIMILARITY
    ) -> None:
        self.kb = kb
        self.company = company
        self.min_similarity = min_similarity
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        # Calls of one agent answer in worker threads at the same time; they share the cache.
        self._lock = Lock()

    def answer(self, question: str) -> AnswerResult:
        """Answer ``question`` in one or two sentences, or abstain with a reason."""
        started = time.perf_counter()
        asked, unknown = self._expand(question)
        hits = tuple(self.kb.search(asked, k=3))
        if unknown:
            # "Are you FedRAMP authorized?": a name the documents never mention is a question they do not answer,
            # however close the rest of the sentence comes to a passage.
            return AnswerResult(None, f"unknown_term:{unknown[0]}", 0.0, hits, _ms(started))
        picked = self._pick(asked, hits) if hits else None
        if picked is None:
            return AnswerResult(None, "not_covered", 0.0, hits, _ms(started))
        sentences, hit, confidence = picked
        if confidence < self.min_similarity:
            return AnswerResult(None, "not_covered", confidence, hits, _ms(started))
        text = rephrase(" ".join(sentences), self.company)
        if _yes(asked, sentences):
            text = f"Yes. {text}"
        if not numbers_in(text) <= numbers_in(hit.chunk.text):
            return AnswerResult(None, "unsupported_number", confidence, hits, _ms(started))
        answer = SpokenAnswer(text, (hit.chunk.citation,), (hit.chunk.id,), confidence)
        return AnswerResult(answer, "answered", confidence, hits, _ms(started))

    def _expand(self, question: str) -> tuple[str, list[str]]:
        """The question with acronyms the documents only spell out written out, and the names they never use."""
        unknown: list[str] = []
        for term in dict.fromkeys(_NAMES.findall(question)):
            if self.kb.mentions(term):
                continue
            spelled = self.kb.acronyms().get(term) if term.isupper() else None
            if spelled is None:
                unknown.append(term)
            else:  # "Will you sign a DPA?" is about the "Data Processing Agreement"
                question = re.sub(rf"\b{re.escape(term)}\b", f"{term} ({spelled})", question)
        return question, unknown

    def _pick(self, question: str, hits: Sequence[Hit]) -> tuple[list[str], Hit, float] | None:
        """The best sentence (with its neighbour when that adds to it), its hit, and how close it is to the question.

        Sentences are ranked by their own similarity to the question, their chunk's, and shared words; the
        confidence is the chosen sentence's own similarity, so a long passage that mentions the topic in passing
        does not pass for an answer.
        """
        # The answer is nearly always in the best two passages; each sentence costs two embeddings on first sight.
        candidates = [(i, sentences_of(hit.chunk.text)[:MAX_SENTENCES]) for i, hit in enumerate(hits[:2])]
        flat = [(i, j, sentence, said) for i, said in candidates for j, sentence in enumerate(said)]
        if not flat:
            return None
        query = self.kb.embed_query(question)
        plain = self._similarities(query, [sentence for _, _, sentence, _ in flat])
        # The same sentence under its headings and after the sentence before it: "It is performed every year
        # by ..." says what "it" is, and an FAQ heading is the question itself.
        context = self._similarities(query, [_in_context(hits[i], said, j) for i, j, _, said in flat])
        words = _content_words(question)
        wanted = [answer for asked, answer in _ANSWER_TYPES if asked.search(question)]
        own = [max(a, b) for a, b in zip(plain, context, strict=True)]
        scores = []
        for (i, _, sentence, _), similarity in zip(flat, own, strict=True):
            overlap = len(words & _content_words(sentence)) / len(words) if words else 0.0
            kind = 0.1 if any(answer.search(sentence) for answer in wanted) else 0.0
            scores.append(0.6 * similarity + 0.3 * (hits[i].similarity or 0.0) + 0.1 * overlap + kind)
        top = int(np.argmax(scores))
        i, j, first, said = flat[top]
        chosen = [first]
        if j > 0 and _PRONOUN.match(first):
            chosen.insert(0, said[j - 1])  # "It is performed by ..." needs the sentence that says what it is
        elif j + 1 < len(said) and scores[top + 1] >= SECOND_SENTENCE_RATIO * scores[top]:
            if len(first.split()) + len(said[j + 1].split()) <= MAX_WORDS:
                chosen.append(said[j + 1])
        return chosen, hits[i], own[top]

    def _similarities(self, query: npt.NDArray[np.float32], texts: Sequence[str]) -> list[float]:
        return [float(np.dot(query, v)) for v in self._vectors(texts)]

    def _vectors(self, sentences: Sequence[str]) -> list[npt.NDArray[np.float32]]:
        """Sentence vectors, embedded once: the same passages come back for related questions."""
        with self._lock:
            known = {s: self._cache[s] for s in sentences if s in self._cache}
        missing = [s for s in dict.fromkeys(sentences) if s not in known]
        if missing:
            embedded = dict(zip(missing, self.kb.embedder.embed(missing), strict=True))
            known |= embedded
            with self._lock:
                self._cache.update(embedded)
                while len(self._cache) > SENTENCE_CACHE:
                    self._cache.popitem(last=False)
        return [known[s] for s in sentences]


def _in_context(hit: Hit, said: Sequence[str], j: int) -> str:
    before = said[j - 1] + " " if j > 0 else ""
    heading = hit.chunk.heading
    return f"{heading}: {before}{said[j]}" if heading else f"{before}{said[j]}"


def _content_words(text: str) -> set[str]:
    spaced = _LETTER_DIGIT.sub(" ", text.lower())  # "soc2" is "soc 2"
    return {w.rstrip("s") for w in _WORD.findall(spaced) if w not in _STOP}


def _yes(question: str, sentences: Sequence[str]) -> bool:
    """A yes/no question whose terms (numbers included) the answer states without negation."""
    if not _YES_NO.match(question.strip()):
        return False
    said = " ".join(sentences)
    if _NEGATION.search(said):
        return False
    asked = _content_words(question)
    if not asked:
        return False
    present = _content_words(said)
    numbers = numbers_in(question)
    if not numbers <= numbers_in(said):
        return False
    return len(asked & present) / len(asked) >= 0.6


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
