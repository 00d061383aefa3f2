"""Playbook entries as the builder drafts them, before they are written out as YAML."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DraftQuestion:
    """A qualification question found in the script."""

    slot: str
    ask: str
    reask: str | None = None
    required: bool = True


@dataclass
class DraftObjection:
    """A push-back with its response; ``source`` says where it came from (script or call and time)."""

    intent: str
    examples: list[str]
    response: str
    source: str
    end_call: bool = False
    outcome: str | None = None
    fills_slot: str | None = None
    learned: bool = False
    label: str = ""
    heard: dict[str, str] = field(default_factory=dict)  # example added from a call -> where


@dataclass
class DraftFaq:
    """A product question with its answer; ``source`` says where it came from."""

    question: str
    answer: str
    source: str
    examples: list[str] = field(default_factory=list)
    learned: bool = False
    heard: dict[str, str] = field(default_factory=dict)  # example added from a call -> where


@dataclass(frozen=True)
class Unplaced:
    """Text the builder read but could not turn into a playbook entry, and why."""

    section: str
    text: str
    reason: str


def add_examples(target: list[str], new: list[str], *, exclude: tuple[str, ...] = ()) -> int:
    """Append phrasings not already present (compared case- and punctuation-blind); returns how many."""

    def key(text: str) -> str:
        return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())

    seen = {key(t) for t in (*target, *exclude)}
    added = 0
    for text in new:
        if text.strip() and key(text) not in seen:
            target.append(text.strip())
            seen.add(key(text))
            added += 1
    return added
