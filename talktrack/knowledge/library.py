"""The process's knowledge bases: one store and one embedder shared by every tenant's knowledge bases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from threading import Lock

from talktrack.knowledge.embedder import MiniLmEmbedder, default_embedder
from talktrack.knowledge.retrieval import KnowledgeBase
from talktrack.knowledge.store import KnowledgeStore, open_store


class Library:
    """Opens the store on first use and loads the embedder on first use (both are slow to start)."""

    def __init__(self, url: str, embedder: Callable[[], MiniLmEmbedder] = default_embedder) -> None:
        self.url = url
        self._embedder = embedder
        self._store: KnowledgeStore | None = None
        self._bases: dict[tuple[str, str], KnowledgeBase] = {}
        self._lock = Lock()

    @property
    def store(self) -> KnowledgeStore:
        """The store, opened on first use."""
        with self._lock:
            if self._store is None:
                self._store = open_store(self.url)
            return self._store

    def base(self, tenant: str, name: str) -> KnowledgeBase:
        """The knowledge base ``name`` of ``tenant``."""
        key = (tenant, name)
        base = self._bases.get(key)
        if base is None:
            base = self._bases[key] = KnowledgeBase(self.store, self._embedder(), tenant, name)
        return base

    def close(self) -> None:
        """Close the store."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            self._bases.clear()


def default_url(data_dir: Path) -> str:
    """The embedded default: a SQLite file in the data directory."""
    return f"sqlite:///{(data_dir / 'knowledge.db').resolve()}"
