"""A step: what one turn of the playbook engine decided to say and where the call goes next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from talktrack.brain.base import Action


@dataclass(frozen=True)
class Step:
    """The lines to say, the phase after them, and notes for the call timeline."""

    lines: tuple[str, ...]
    phase: str
    action: Action = "continue"
    outcome: str | None = None
    notes: Mapping[str, object] = field(default_factory=dict)
    remember: bool = True  # whether "sorry, what?" should repeat these lines
    ack: str | None = None  # spoken first; never repeated
    book: bool = False  # the prospect agreed to meet: the booking flow takes over

    @property
    def spoken(self) -> tuple[str, ...]:
        return self.lines if self.ack is None else (self.ack, *self.lines)
