"""Callbacks promised on a call ("call me tomorrow at 10"), kept until a dialler places them."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from loguru import logger


@dataclass(frozen=True)
class Callback:
    """One call to place later."""

    call_id: str
    agent_id: str
    phone: str
    prospect_name: str
    at: str  # ISO 8601 with offset
    timezone: str
    reason: str
    created: str


class CallbackBook:
    """An append-only JSON-lines file of callbacks (one per call and time: a retried request is kept once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, callback: Callback) -> Callback:
        """Record a callback unless the same call already asked for the same time."""
        with self._lock:
            if any(c.call_id == callback.call_id and c.at == callback.at for c in self.entries()):
                return callback
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(callback)) + "\n")
        return callback

    def entries(self) -> list[Callback]:
        """Every recorded callback, oldest first; unreadable lines are skipped with a warning."""
        if not self.path.is_file():
            return []
        out: list[Callback] = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(Callback(**json.loads(line)))
            except (ValueError, TypeError):
                logger.warning(f"{self.path}:{number}: unreadable callback line skipped")
        return out
