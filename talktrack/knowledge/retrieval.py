"""Hybrid retrieval over one knowledge base: full-text and dense rankings fused by reciprocal rank."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Protocol

import numpy as np
import numpy.typing as npt

from talktrack.knowledge.documents import Document, IngestError, StoredChunk
from talktrack.knowledge.ingest import SUPPORTED_SUFFIXES, read_documents
from talktrack.knowledge.store import DocumentInfo, Filters, KnowledgeStore

# Reciprocal-rank fusion constant: 60 is the value of the original paper and works across corpora.
RRF_K = 60
# How deep each ranking goes before fusion.
CANDIDATES = 20
# Chunk size in words: small enough that a passage is about one thing, large enough to carry its context.
CHUNK_WORDS = 70


class Embedder(Protocol):
    """Text to unit vectors (the MiniLM embedder)."""

    dim: int

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]: ...
    def embed_one(self, text: str) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk: its fused score and where it stood in each ranking (1-based; None if absent)."""

    chunk: StoredChunk
    score: float
    similarity: float | None
    lexical_rank: int | None
    dense_rank: int | None


@dataclass
class IngestReport:
    """What a batch of files did to the knowledge base."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks: int = 0

    def summary(self) -> str:
        """One line per outcome, for the CLI."""
        lines = [
            f"{len(self.added)} added, {len(self.replaced)} replaced, {len(self.unchanged)} unchanged, "
            f"{len(self.errors)} failed" + (f", {len(self.removed)} removed" if self.removed else "")
            + f" ({self.chunks} chunks written)"
        ]
        lines += [f"  failed: {error}" for error in self.errors]
        return "\n".join(lines)


class KnowledgeBase:
    """One tenant's knowledge base: ingest documents, then search them."""

    def __init__(self, store: KnowledgeStore, embedder: Embedder, tenant: str, name: str) -> None:
        if not tenant or not name:
            raise ValueError("a knowledge base needs a tenant and a name")
        self.store = store
        self.embedder = embedder
        self.tenant = tenant
        self.name = name
        self._queries: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._acronyms: dict[str, str] | None = None
        self._lock = Lock()  # calls search from worker threads at the same time

    def add(self, doc: Document) -> str:
        """Embed and store one parsed document; "added", "replaced" or "unchanged"."""
        vectors = self.embedder.embed([_embedded_text(doc.title, chunk.heading, chunk.text) for chunk in doc.chunks])
        self._acronyms = None
        return self.store.put_document(self.tenant, self.name, doc, vectors)

    def add_files(self, paths: Sequence[Path], *, progress: bool = False) -> IngestReport:
        """Ingest files; a bad file is reported and the rest of the batch still goes in."""
        report = IngestReport()
        known = {info.source: info.digest for info in self.documents()}
        for item in read_documents(paths, progress=progress, chunk_words=CHUNK_WORDS):
            if isinstance(item, IngestError):
                report.errors.append(item)
                continue
            # Embedding is the slow part: an unchanged file is not embedded again.
            outcome = "unchanged" if known.get(item.source) == item.digest else self.add(item)
            getattr(report, outcome).append(item.source)
            if outcome != "unchanged":
                report.chunks += len(item.chunks)
        return report

    def sync_folder(self, folder: Path, *, progress: bool = False) -> IngestReport:
        """Make the knowledge base hold exactly the supported files of ``folder`` (an agent's knowledge/)."""
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        report = self.add_files(files, progress=progress)
        present = {p.name for p in files}
        report.removed = [info.source for info in self.documents() if info.source not in present]
        for source in report.removed:
            self.remove(source)
        return report

    def remove(self, source: str) -> bool:
        """Forget a document; False when it was not there."""
        self._acronyms = None
        return self.store.delete_document(self.tenant, self.name, source)

    def documents(self) -> list[DocumentInfo]:
        """The documents in this knowledge base."""
        return self.store.documents(self.tenant, self.name)

    def embed_query(self, query: str) -> npt.NDArray[np.float32]:
        """The query's vector, remembered for repeats (a prospect asks the same thing twice)."""
        with self._lock:
            vector = self._queries.get(query)
        if vector is None:
            vector = self.embedder.embed_one(query)
            with self._lock:
                self._queries[query] = vector
                while len(self._queries) > 256:
                    self._queries.popitem(last=False)
        return vector

    def acronyms(self) -> dict[str, str]:
        """Acronyms the documents spell out without using them ("DPA" -> "Data Processing Agreement")."""
        if self._acronyms is None:
            self._acronyms = spelled_out(self.store.texts(self.tenant, self.name))
        return self._acronyms

    def mentions(self, term: str) -> bool:
        """Whether any document of this knowledge base contains ``term`` (a full-text lookup).

        Speech-to-text writes "SOC2" where a document says "SOC 2": letters and digits are looked up apart.
        """
        spaced = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", term)
        return bool(self.store.lexical(self.tenant, self.name, spaced, 1))

    def forget_queries(self) -> None:
        """Drop the remembered query vectors (benchmarks time a question's first asking)."""
        with self._lock:
            self._queries.clear()

    def search(self, query: str, k: int = 3, filters: Filters | None = None) -> list[Hit]:
        """The best ``k`` chunks for ``query``, best first; empty for an empty query or knowledge base."""
        if not query.strip():
            return []
        vector = self.embed_query(query)
        lexical = self.store.lexical(self.tenant, self.name, query, CANDIDATES, filters)
        dense = self.store.dense(self.tenant, self.name, vector, CANDIDATES, filters)
        fused = fuse([[i for i, _ in lexical], [i for i, _ in dense]])[:k]
        if not fused:
            return []
        chunks = self.store.chunks(self.tenant, self.name, [i for i, _ in fused])
        lexical_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(lexical, 1)}
        dense_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(dense, 1)}
        similarity = dict(dense)
        return [
            Hit(chunks[i], score, similarity.get(i), lexical_rank.get(i), dense_rank.get(i))
            for i, score in fused
            if i in chunks
        ]


def fuse(rankings: Iterable[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: each ranking gives 1 / (k + rank); ties keep the first ranking's order."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def spelled_out(texts: Iterable[str]) -> dict[str, str]:
    """Capitalised phrases by their initials: "our Data Processing Agreement" gives DPA (and PA)."""
    found: dict[str, str] = {}
    for text in texts:
        for match in _TITLE_PHRASE.finditer(text):
            words = match.group(0).replace("-", " ").split()
            for start in range(len(words) - 1):
                found.setdefault("".join(w[0] for w in words[start:]).upper(), " ".join(words[start:]))
    return found


_TITLE_PHRASE = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,4}\b")


def _embedded_text(title: str, heading: str, text: str) -> str:
    # The heading path carries the topic a bare paragraph often leaves implicit ("It covers ...").
    context = " · ".join(part for part in (title, heading) if part)
    return f"{context}: {text}" if context else text
