"""Frames the call pipeline adds to Pipecat's: a prospect turn, and a line for the agent to say."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pipecat.frames.frames import DataFrame, SystemFrame


@dataclass
class ProspectTurnFrame(DataFrame):
    """The prospect finished a turn; ``timing`` holds the engine's marks for it (monotonic seconds)."""

    text: str = ""
    timing: dict[str, float] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProspectOnsetFrame(SystemFrame):
    """The prospect started speaking (system frame: it outruns queued agent audio)."""

    at: float = 0.0
    barge_in: bool = False


@dataclass
class TurnRetractedFrame(SystemFrame):
    """The prospect went on talking right after a turn was taken: undo that turn."""

    text: str = ""


@dataclass
class AgentSayFrame(DataFrame):
    """What the agent says next: ``lines`` are its parts (fixed lines are cached whole)."""

    text: str = ""
    lines: list[str] = field(default_factory=list)
    kind: str = "reply"
    turn: int = 0
    end_call: bool = False
    # Lines still arriving (an LLM's clauses), spoken after ``lines``; ``record`` is the transcript line to amend.
    more: AsyncIterator[str] | None = None
    record: dict[str, Any] | None = None
