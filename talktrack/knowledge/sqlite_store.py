"""The embedded knowledge store: one SQLite file (WAL) with FTS5 for words and float32 BLOBs for vectors."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt

from talktrack.knowledge.documents import Document, StoredChunk
from talktrack.knowledge.store import (
    DocumentInfo,
    Filters,
    KbMatrix,
    MatrixCache,
    StoreError,
    check_query,
    check_scope,
    check_vectors,
    kb_matrix,
    new_chunk_id,
    new_version,
    now_iso,
    query_terms,
)

# Other processes (the API ingesting, a worker answering) may hold the write lock for a moment.
BUSY_TIMEOUT_MS = 5000
# bm25 column weights: the passage's own words count more than the section titles above it.
BM25_WEIGHTS = "1.0, 0.5"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, kb TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,
    title TEXT NOT NULL, digest TEXT NOT NULL, chunks INTEGER NOT NULL, added TEXT NOT NULL,
    UNIQUE (tenant, kb, source)
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    doc_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    tenant TEXT NOT NULL, kb TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL,
    headings TEXT NOT NULL, page INTEGER, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_scope ON chunks (tenant, kb);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5 (text, heading, tokenize = 'porter unicode61');
CREATE TABLE IF NOT EXISTS versions (
    tenant TEXT NOT NULL, kb TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (tenant, kb)
);
"""


def fts_query(query: str) -> str:
    """A safe FTS5 query from free text: every word quoted (so AND, NEAR, quotes are plain words), OR-ed."""
    return " OR ".join(f'"{term}"' for term in query_terms(query))


def _filter_sql(filters: Filters | None) -> tuple[str, list[str]]:
    if filters is None:
        return "", []
    sql, args = "", []
    if filters.kinds:
        sql += f" AND d.kind IN ({','.join('?' * len(filters.kinds))})"
        args += list(filters.kinds)
    if filters.sources:
        sql += f" AND d.source IN ({','.join('?' * len(filters.sources))})"
        args += list(filters.sources)
    return sql, args


class SqliteStore:
    """A KnowledgeStore in one SQLite file; one connection shared by threads under a lock."""

    def __init__(self, path: str | Path, *, dim: int | None = None) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._cache = MatrixCache()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open the knowledge store {self.path}: {err}") from err
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
            stored = self._db.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()
        except sqlite3.Error as err:
            self._db.close()
            raise StoreError(f"{self.path} is not a usable knowledge store ({err}); give another file") from err
        self.dim: int | None = int(stored[0]) if stored else None
        if dim is not None and self.dim is not None and dim != self.dim:
            self._db.close()
            raise ValueError(f"{self.path} holds {self.dim}-dimensional vectors, but {dim} were asked for")
        self.dim = self.dim or dim

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: the write lock is taken up front, so the digest check cannot go stale."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def put_document(self, tenant: str, kb: str, doc: Document, vectors: npt.NDArray[np.floating]) -> str:
        """Store doc's chunks and vectors, replacing the same source atomically; "added"/"replaced"/"unchanged"."""
        check_scope(tenant, kb)
        matrix = check_vectors(doc, vectors, self.dim)
        with self._write() as db:
            if doc.chunks:
                # Another handle on the same file may have fixed the dimension since this one opened.
                row = db.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()
                self.dim = int(row[0]) if row else (self.dim or matrix.shape[1])
                matrix = check_vectors(doc, matrix, self.dim)
                db.execute("INSERT OR IGNORE INTO meta VALUES ('dim', ?)", (str(self.dim),))
            old = db.execute(
                "SELECT id, digest FROM documents WHERE tenant = ? AND kb = ? AND source = ?", (tenant, kb, doc.source)
            ).fetchone()
            if old is not None and old[1] == doc.digest:
                return "unchanged"
            if old is not None:
                self._remove(db, old[0])
            cur = db.execute(
                "INSERT INTO documents (tenant, kb, source, kind, title, digest, chunks, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tenant, kb, doc.source, doc.kind, doc.title, doc.digest, len(doc.chunks), now_iso()),
            )
            doc_id = cur.lastrowid
            for chunk, vector in zip(doc.chunks, matrix, strict=True):
                cur = db.execute(
                    "INSERT INTO chunks (id, doc_id, tenant, kb, ordinal, text, headings, page, vector) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (new_chunk_id(), doc_id, tenant, kb, chunk.ordinal, chunk.text, json.dumps(chunk.headings),
                     chunk.page, vector.astype("<f4").tobytes()),
                )  # fmt: skip
                db.execute(
                    "INSERT INTO chunk_fts (rowid, text, heading) VALUES (?, ?, ?)",
                    (cur.lastrowid, chunk.text, " ".join(chunk.headings)),
                )
            self._touch(db, tenant, kb)
        return "added" if old is None else "replaced"

    def delete_document(self, tenant: str, kb: str, source: str) -> bool:
        """Remove a document and its chunks; False when there was none."""
        check_scope(tenant, kb)
        with self._write() as db:
            row = db.execute(
                "SELECT id FROM documents WHERE tenant = ? AND kb = ? AND source = ?", (tenant, kb, source)
            ).fetchone()
            if row is None:
                return False
            self._remove(db, row[0])
            self._touch(db, tenant, kb)
        return True

    def _remove(self, db: sqlite3.Connection, doc_id: int) -> None:
        # The FTS table is a separate index keyed by the chunk's rowid; it must go first.
        db.execute("DELETE FROM chunk_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE doc_id = ?)", (doc_id,))
        db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    def _touch(self, db: sqlite3.Connection, tenant: str, kb: str) -> None:
        db.execute(
            "INSERT INTO versions VALUES (?, ?, ?) ON CONFLICT (tenant, kb) DO UPDATE SET version = excluded.version",
            (tenant, kb, new_version()),
        )
        self._cache.drop((tenant, kb))

    def documents(self, tenant: str, kb: str) -> list[DocumentInfo]:
        """The kb's documents, by source."""
        check_scope(tenant, kb)
        with self._lock:
            rows = self._db.execute(
                "SELECT source, kind, title, digest, chunks, added FROM documents WHERE tenant = ? AND kb = ? "
                "ORDER BY source",
                (tenant, kb),
            ).fetchall()
        return [DocumentInfo(*row) for row in rows]

    def texts(self, tenant: str, kb: str) -> list[str]:
        """Every chunk text of the kb."""
        check_scope(tenant, kb)
        with self._lock:
            rows = self._db.execute("SELECT text FROM chunks WHERE tenant = ? AND kb = ?", (tenant, kb)).fetchall()
        return [str(row[0]) for row in rows]

    def lexical(
        self, tenant: str, kb: str, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids best first by bm25 over text and heading path (score = -bm25, higher is better)."""
        check_scope(tenant, kb)
        match = fts_query(query)
        if not match or k <= 0:
            return []
        where, args = _filter_sql(filters)
        with self._lock:
            rows = self._db.execute(
                f"SELECT c.id, -bm25(chunk_fts, {BM25_WEIGHTS}) FROM chunk_fts "
                "JOIN chunks c ON c.rowid = chunk_fts.rowid JOIN documents d ON d.id = c.doc_id "
                f"WHERE chunk_fts MATCH ? AND c.tenant = ? AND c.kb = ?{where} "
                f"ORDER BY bm25(chunk_fts, {BM25_WEIGHTS}) LIMIT ?",
                (match, tenant, kb, *args, k),
            ).fetchall()
        return [(str(i), float(s)) for i, s in rows]

    def dense(
        self, tenant: str, kb: str, vector: npt.NDArray[np.floating], k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids best first by exact cosine similarity over the kb's cached matrix."""
        check_scope(tenant, kb)
        with self._lock:
            row = self._db.execute("SELECT version FROM versions WHERE tenant = ? AND kb = ?", (tenant, kb)).fetchone()
            if self.dim is None:
                dim = self._db.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()
                self.dim = int(dim[0]) if dim else None
            if self.dim is None:
                return []  # nothing was ever stored, so no dimension to check against
            query = check_query(vector, self.dim)
            if row is None:
                return []
            entry = self._cache.get((tenant, kb), int(row[0]), lambda: self._load(tenant, kb, int(row[0])))
        return entry.search(query, k, filters)

    def _load(self, tenant: str, kb: str, version: int) -> KbMatrix:
        assert self.dim is not None
        rows = self._db.execute(
            "SELECT c.id, c.vector, d.kind, d.source FROM chunks c JOIN documents d ON d.id = c.doc_id "
            "WHERE c.tenant = ? AND c.kb = ? ORDER BY c.rowid",
            (tenant, kb),
        ).fetchall()
        return kb_matrix(version, rows, self.dim)

    def chunks(self, tenant: str, kb: str, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The kb's chunks among ``ids``; other kbs' ids and unknown ids are left out."""
        check_scope(tenant, kb)
        wanted = list(dict.fromkeys(ids))
        found: dict[str, StoredChunk] = {}
        with self._lock:
            # SQLite caps bound parameters (32,766 by default); batches stay well below.
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                rows = self._db.execute(
                    "SELECT c.id, d.source, d.kind, d.title, c.ordinal, c.text, c.headings, c.page "
                    "FROM chunks c JOIN documents d ON d.id = c.doc_id "
                    # The unary + keeps SQLite on the id index: the (tenant, kb) index would scan the whole kb.
                    f"WHERE +c.tenant = ? AND +c.kb = ? AND c.id IN ({','.join('?' * len(batch))})",
                    (tenant, kb, *batch),
                ).fetchall()
                for cid, source, kind, title, ordinal, text, headings, page in rows:
                    found[cid] = StoredChunk(cid, source, kind, title, ordinal, text, tuple(json.loads(headings)), page)
        return found

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()
