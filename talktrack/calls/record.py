"""The call record: transcript, per-turn timings and the engine's decisions, as the call goes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TurnRecord:
    """One prospect turn and the agent's answer, with the engine's timings in ms."""

    index: int
    prospect: str
    reply: str = ""
    intent: str = ""
    speech_end_s: float = 0.0
    stt_ms: float = 0.0
    smart_turn_ms: float = 0.0
    smart_turn_p: float = 0.0
    endpoint_ms: float = 0.0
    brain_ms: float = 0.0
    tts_first_ms: float = 0.0  # reply queued -> first audio ready
    engine_v2v_ms: float = 0.0  # engine's speech-end estimate -> first audio ready (the caller measures the real v2v)
    decision: str = ""
    barge_in: bool = False
    heard: str | None = None


@dataclass
class CallLog:
    """Everything the engine decided during one call, stamped relative to the call start."""

    call_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    agent: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    t0: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)
    outcome: str = "in_progress"
    events: list[dict[str, Any]] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    turns: list[TurnRecord] = field(default_factory=list)
    recording: str | None = None
    ended_at: float | None = None
    listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list, repr=False)

    def rel(self, t: float | None = None) -> float:
        """Seconds since the call started for a monotonic time (default: now)."""
        return round((time.monotonic() if t is None else t) - self.t0, 4)

    def event(self, kind: str, t: float | None = None, **data: Any) -> None:
        """Append a timeline event."""
        self.events.append({"t": self.rel(t), "kind": kind, **data})

    def say(self, role: str, text: str, t: float | None = None, **extra: Any) -> dict[str, Any]:
        """Append a transcript line and return it (so a barge-in can truncate it)."""
        line = {"t": self.rel(t), "role": role, "text": text, **extra}
        self.transcript.append(line)
        self.changed(line)
        return line

    def changed(self, line: dict[str, Any]) -> None:
        """Tell the listeners about a new or amended (withdrawn, cut short) transcript line."""
        for listener in self.listeners:
            listener(line)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the record."""
        listeners, self.listeners = self.listeners, []
        try:
            data = asdict(self)
        finally:
            self.listeners = listeners
        data.pop("t0")
        data.pop("listeners")
        return data

    def write(self, path: Path) -> Path:
        """Write the record as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path
