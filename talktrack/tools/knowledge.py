"""Product knowledge the agent may state: the playbook's FAQ and answers, and the agent's documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from talktrack.brain.intents import IntentMatcher
from talktrack.brain.playbook import Playbook
from talktrack.knowledge.answer import Answerer, AnswerResult

# Below this a passage is not about the question; the agent abstains instead.
MIN_SCORE = 0.5


@dataclass(frozen=True)
class Passage:
    """One piece of permitted product text and where it came from."""

    id: str
    text: str
    source: str
    score: float


class Knowledge(Protocol):
    """Anything that finds passages for a question."""

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """The best passages for ``query``, best first; empty when nothing is relevant."""
        ...


class PlaybookKnowledge:
    """FAQ answers and non-final objection answers (pricing) of a playbook, found by the intent matcher."""

    def __init__(self, playbook: Playbook, matcher: IntentMatcher | None = None) -> None:
        self._matcher = matcher or IntentMatcher(playbook)
        self._passages: dict[str, Passage] = {}
        for i, faq in enumerate(playbook.faq):
            self._passages[f"faq:{i}"] = Passage(f"faq:{i}", faq.answer, f"playbook faq: {faq.question}", 0.0)
        for objection in playbook.objections:
            if not objection.end_call:
                text = playbook.render(objection.response)
                self._passages[objection.intent] = Passage(objection.intent, text, "playbook objections", 0.0)

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """Passages whose examples match ``query`` well enough, best first."""
        out: list[Passage] = []
        for match in self._matcher.rank(query, limit=k + 8):
            passage = self._passages.get(match.intent)
            if passage is not None and match.score >= MIN_SCORE:
                out.append(Passage(passage.id, passage.text, passage.source, match.score))
        return out[:k]


class DocumentKnowledge:
    """The agent's knowledge base behind the playbook's own answers.

    For the LLM brain, ``search`` returns the playbook's matching answers first, then passages of the documents.
    For the playbook engine, ``answer`` says one or two sentences taken from the documents, or abstains.
    """

    def __init__(self, playbook: Playbook, answerer: Answerer, matcher: IntentMatcher | None = None) -> None:
        self._playbook = PlaybookKnowledge(playbook, matcher)
        self.answerer = answerer

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """Playbook answers that match, then document passages, best first."""
        found = self._playbook.search(query, k)
        for hit in self.answerer.kb.search(query, k):
            similarity = hit.similarity or 0.0
            if similarity >= self.answerer.min_similarity:
                found.append(Passage(hit.chunk.id, hit.chunk.text, hit.chunk.citation, round(similarity, 3)))
        return found[:k]

    def answer(self, question: str) -> AnswerResult:
        """A spoken answer from the documents, or the reason there is none."""
        return self.answerer.answer(question)
