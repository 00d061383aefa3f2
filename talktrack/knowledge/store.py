"""The knowledge store interface: documents and their chunks per (tenant, kb), searched by words and by meaning.

Every call is scoped by ``tenant`` (the customer) and ``kb`` (one knowledge base, e.g. an agent id); no call
ever returns rows of another tenant or kb. Two implementations: SQLite (FTS5 + float32 BLOBs, the embedded
default) and PostgreSQL (full-text search + pgvector). Pick one with :func:`open_store`.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt

from talktrack.knowledge.documents import Document, StoredChunk

__all__ = ["DocumentInfo", "Filters", "KnowledgeStore", "StoreError", "open_store"]

Matrix = npt.NDArray[np.float32]

# Speech can run on; a bounded number of OR-ed terms keeps a full-text query cheap.
MAX_QUERY_TERMS = 64
# Dense matrices kept in memory per process; each is ~4.6 MB for 3,000 chunks of 384 dimensions.
CACHED_KBS = 32

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_WORD = re.compile(r"\w+")


class StoreError(Exception):
    """The store cannot be opened or reached; the message names the URL (never its password)."""


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some document kinds and/or sources; an empty tuple keeps all."""

    kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentInfo:
    """One stored document as listed to users: ``added`` is an ISO 8601 time in UTC."""

    source: str
    kind: str
    title: str
    digest: str
    chunks: int
    added: str


class KnowledgeStore(Protocol):
    """Documents, chunks and their vectors per (tenant, kb); synchronous and safe to call from several threads."""

    def put_document(self, tenant: str, kb: str, doc: Document, vectors: npt.NDArray[np.floating]) -> str:
        """Store doc's chunks with their vectors (rows align with doc.chunks), replacing an earlier document of
        the same source atomically; returns "added", "replaced" or "unchanged" (same digest: nothing written)."""
        ...

    def delete_document(self, tenant: str, kb: str, source: str) -> bool:
        """Remove a document and its chunks; False when there was none."""
        ...

    def documents(self, tenant: str, kb: str) -> list[DocumentInfo]:
        """The kb's documents, by source."""
        ...

    def texts(self, tenant: str, kb: str) -> list[str]:
        """Every chunk text of the kb, for vocabulary-wide features (the acronyms its documents spell out)."""
        ...

    def lexical(
        self, tenant: str, kb: str, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids best first with a full-text score (higher is better)."""
        ...

    def dense(
        self, tenant: str, kb: str, vector: npt.NDArray[np.floating], k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids best first by cosine similarity (vectors are unit length)."""
        ...

    def chunks(self, tenant: str, kb: str, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The kb's chunks among ``ids``; ids of other kbs or unknown ids are left out."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


def open_store(url: str, *, dim: int | None = None) -> KnowledgeStore:
    """Open "sqlite:///abs/path.db", a plain file path, or "postgresql://..." (``?schema=name`` picks a schema)."""
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme in ("", "sqlite"):
        from talktrack.knowledge.sqlite_store import SqliteStore

        path = url[len("sqlite://") :] if scheme else url
        if not path or path == "/":
            raise StoreError(f"{url!r} names no database file; use sqlite:///absolute/path.db or a file path")
        return SqliteStore(path, dim=dim)
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        try:
            from talktrack.knowledge.pg_store import PgStore
        except ImportError as err:
            raise StoreError(f"{redact(url)}: PostgreSQL support needs psycopg; pip install 'psycopg[binary]'") from err
        # "postgresql+psycopg://" is how SQLAlchemy spells it; libpq wants the plain scheme.
        return PgStore("postgresql" + url[len(scheme) :], dim=dim)
    raise StoreError(f"{redact(url)}: unknown store scheme {scheme!r}; use sqlite:///path.db or postgresql://...")


def redact(url: str) -> str:
    """The URL with its password replaced by ***, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def check_scope(tenant: str, kb: str) -> None:
    """Refuse an empty tenant or kb: a blank scope would be a shared one."""
    if not tenant or not kb:
        raise ValueError(f"tenant and kb must be non-empty (got tenant={tenant!r}, kb={kb!r})")


def check_vectors(doc: Document, vectors: npt.NDArray[np.floating], dim: int | None) -> Matrix:
    """The document's vectors as a C-ordered float32 matrix; ValueError when shape or dimension is wrong."""
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if not doc.chunks and matrix.size == 0:
        return matrix.reshape(0, dim or 0)
    if matrix.ndim != 2 or matrix.shape[0] != len(doc.chunks):
        raise ValueError(
            f"{doc.source}: expected one vector per chunk ({len(doc.chunks)} rows), got an array of shape "
            f"{matrix.shape}"
        )
    if dim is not None and matrix.shape[1] != dim:
        raise ValueError(f"{doc.source}: vectors have dimension {matrix.shape[1]}, but this store holds {dim}")
    return matrix


def check_query(vector: npt.NDArray[np.floating], dim: int) -> Matrix:
    """A query vector as float32; ValueError naming both dimensions when it does not fit the store."""
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    if query.shape[0] != dim:
        raise ValueError(f"query vector has dimension {query.shape[0]}, but this store holds {dim}")
    return query


def query_terms(query: str) -> list[str]:
    """The words of a free-text query, lowercased and de-duplicated, at most MAX_QUERY_TERMS.

    Only word characters survive, so quotes, operators and punctuation in speech can never break a query.
    """
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        seen.setdefault(word, None)
    return list(seen)[:MAX_QUERY_TERMS]


def new_chunk_id() -> str:
    """A chunk id unique across stores and processes."""
    return uuid.uuid4().hex


def new_version() -> int:
    """A random stamp marking a kb's contents; any writer changes it, so every process sees its cache is stale."""
    return secrets.randbits(62)


def now_iso() -> str:
    """The current UTC time as ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class KbMatrix:
    """One kb's vectors in memory, with what filters need."""

    version: int
    ids: tuple[str, ...]
    matrix: Matrix
    kinds: npt.NDArray[np.str_]
    sources: npt.NDArray[np.str_]

    def search(self, query: Matrix, k: int, filters: Filters | None) -> list[tuple[str, float]]:
        """Exact cosine search (rows and query are unit length, so the dot product is the cosine)."""
        rows = np.arange(len(self.ids))
        if filters is not None and filters.kinds:
            rows = rows[np.isin(self.kinds[rows], filters.kinds)]
        if filters is not None and filters.sources:
            rows = rows[np.isin(self.sources[rows], filters.sources)]
        if k <= 0 or rows.size == 0:
            return []
        scores = self.matrix[rows] @ query if rows.size < len(self.ids) else self.matrix @ query
        top = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[int(rows[i])], float(scores[i])) for i in top]


class MatrixCache:
    """A small LRU of kb matrices, each checked against the kb's version stamp before use."""

    def __init__(self, size: int = CACHED_KBS) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], KbMatrix] = OrderedDict()

    def get(self, key: tuple[str, str], version: int, load: Callable[[], KbMatrix]) -> KbMatrix:
        """The cached matrix when still current, else a freshly loaded one."""
        entry = self._entries.get(key)
        if entry is None or entry.version != version:
            entry = load()
            self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return entry

    def drop(self, key: tuple[str, str]) -> None:
        """Forget a kb (after this process wrote to it)."""
        self._entries.pop(key, None)


def kb_matrix(
    version: int, rows: Sequence[tuple[str, bytes, str, str]], dim: int
) -> KbMatrix:
    """Build a KbMatrix from (id, float32 little-endian blob, kind, source) rows."""
    matrix = np.frombuffer(b"".join(bytes(r[1]) for r in rows), dtype="<f4").astype(np.float32)
    return KbMatrix(
        version=version,
        ids=tuple(r[0] for r in rows),
        matrix=matrix.reshape(len(rows), dim),
        kinds=np.array([r[2] for r in rows], dtype=np.str_),
        sources=np.array([r[3] for r in rows], dtype=np.str_),
    )
