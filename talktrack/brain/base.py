"""The contract between the call loop and any brain (playbook rules today, an LLM later).

Only ``respond`` is async: it is the one step a model-backed brain must await.
The opener, the listen-first hello and the silence lines come from the playbook,
so every brain can return them at once while the line is live.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Protocol, runtime_checkable

Action = Literal["continue", "end_call"]
Role = Literal["agent", "prospect"]

# Outcomes a brain may report when it ends a call; the call log stores them as text.
OUTCOME_MEETING_REQUESTED = "meeting_requested"
OUTCOME_NOT_INTERESTED = "not_interested"
OUTCOME_FOLLOW_UP_EMAIL = "follow_up_email"
OUTCOME_CALL_BACK_LATER = "call_back_later"
OUTCOME_NO_RESPONSE = "no_response"
OUTCOME_PROSPECT_ENDED = "prospect_ended"


def _no_decision() -> Mapping[str, object]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HistoryTurn:
    """One spoken turn of the conversation."""

    role: Role
    text: str


@dataclass(frozen=True)
class Reply:
    """What the agent says next, and why (``decision`` is for the call timeline)."""

    text: str
    intent: str
    action: Action
    outcome: str | None
    phase: str
    decision: Mapping[str, object] = field(default_factory=_no_decision)
    # Further lines still arriving from a stream (an LLM's clauses), spoken after ``lines``.
    more: AsyncIterator[str] | None = None

    @property
    def lines(self) -> list[str]:
        """The parts of ``text`` in order (fixed lines can be played from a cache)."""
        raw = self.decision.get("lines")
        return [str(x) for x in raw] if isinstance(raw, (list, tuple)) and raw else [self.text]

    @property
    def ends_call(self) -> bool:
        """True when the caller should hang up after speaking ``text``."""
        return self.action == "end_call"


@runtime_checkable
class Brain(Protocol):
    """Decides what the agent says; one instance per call."""

    @property
    def history(self) -> list[HistoryTurn]:
        """Spoken turns so far, oldest first."""
        ...

    def opener(self) -> Reply:
        """The personalised opener, spoken once the prospect has said hello."""
        ...

    def hello(self) -> Reply:
        """The listen-first fallback when the prospect answers but says nothing."""
        ...

    async def respond(self, text: str) -> Reply:
        """One prospect turn in, one agent reply out."""
        ...

    def on_silence(self, count: int) -> Reply:
        """The reply to the ``count``-th silence in a row (reprompt, then goodbye)."""
        ...

    def on_interrupted(self, heard: str) -> None:
        """The prospect barged in: keep only the part of the last agent turn that was heard."""
        ...

    def checkpoint(self) -> object:
        """Opaque conversation state, taken before each turn."""
        ...

    def rollback(self, state: object) -> None:
        """Undo the last turn: the prospect had not finished it."""
        ...

    def fixed_lines(self) -> list[str]:
        """Lines that never change between calls, for pre-synthesis."""
        ...
