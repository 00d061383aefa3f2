"""The scale-out knowledge store: PostgreSQL full-text search, and pgvector HNSW when the extension is there."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt
import psycopg
from loguru import logger
from psycopg import sql

from talktrack.knowledge.documents import Document, StoredChunk
from talktrack.knowledge.store import (
    DocumentInfo,
    Filters,
    KbMatrix,
    Matrix,
    MatrixCache,
    StoreError,
    check_query,
    check_scope,
    check_vectors,
    kb_matrix,
    new_chunk_id,
    new_version,
    query_terms,
    redact,
)

CONNECT_TIMEOUT_S = 10
# Below this many chunks an exact scan is as fast as the index and never misses a row.
EXACT_BELOW = 1000
# HNSW filters after the index walk, so a kb among many needs a wider walk to fill k results.
MIN_EF_SEARCH = 100

_TABLES = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.knowledge_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.knowledge_documents (
    id bigserial PRIMARY KEY, tenant text NOT NULL, kb text NOT NULL, source text NOT NULL, kind text NOT NULL,
    title text NOT NULL, digest text NOT NULL, chunks integer NOT NULL, added timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant, kb, source)
);
CREATE TABLE IF NOT EXISTS {s}.knowledge_chunks (
    id text PRIMARY KEY, doc_id bigint NOT NULL REFERENCES {s}.knowledge_documents (id) ON DELETE CASCADE,
    tenant text NOT NULL, kb text NOT NULL, source text NOT NULL, kind text NOT NULL, ordinal integer NOT NULL,
    text text NOT NULL, heading text NOT NULL, headings text[] NOT NULL, page integer,
    tsv tsvector GENERATED ALWAYS AS
        (setweight(to_tsvector('english', text), 'A') || setweight(to_tsvector('english', heading), 'B')) STORED
);
CREATE INDEX IF NOT EXISTS knowledge_chunks_scope ON {s}.knowledge_chunks (tenant, kb);
CREATE INDEX IF NOT EXISTS knowledge_chunks_doc ON {s}.knowledge_chunks (doc_id);
CREATE INDEX IF NOT EXISTS knowledge_chunks_tsv ON {s}.knowledge_chunks USING gin (tsv);
CREATE TABLE IF NOT EXISTS {s}.knowledge_versions (
    tenant text NOT NULL, kb text NOT NULL, version bigint NOT NULL, rows integer NOT NULL, PRIMARY KEY (tenant, kb)
);
"""


def split_schema(url: str) -> tuple[str, str | None]:
    """Take a ``schema=`` query parameter off a PostgreSQL URL (libpq would refuse it)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = [v for k, v in query if k == "schema"]
    if not schema:
        return url, None
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema[-1]


def _vector_text(row: Matrix) -> str:
    return "[" + ",".join(map(str, row.tolist())) + "]"


def _filter_sql(filters: Filters | None) -> tuple[sql.Composable, list[Any]]:
    parts: list[sql.Composable] = []
    args: list[Any] = []
    if filters is not None and filters.kinds:
        parts.append(sql.SQL(" AND c.kind = ANY(%s)"))
        args.append(list(filters.kinds))
    if filters is not None and filters.sources:
        parts.append(sql.SQL(" AND c.source = ANY(%s)"))
        args.append(list(filters.sources))
    return sql.Composed(parts), args


class PgStore:
    """A KnowledgeStore in one PostgreSQL schema; one connection shared by threads under a lock."""

    def __init__(
        self, url: str, *, dim: int | None = None, schema: str | None = None, exact_below: int = EXACT_BELOW
    ) -> None:
        self.url, url_schema = split_schema(url)
        self.schema = schema or url_schema or "public"
        self.exact_below = exact_below
        self._shown = redact(self.url)
        self._lock = threading.Lock()
        self._cache = MatrixCache()
        self._closed = False
        self._db = self._connect()
        self.dim: int | None = None
        self.pgvector = False
        self._tables: dict[str, sql.Composable] = {
            name: sql.Identifier(self.schema, f"knowledge_{name}")
            for name in ("meta", "documents", "chunks", "versions")
        }
        self._tables["hnsw"] = sql.Identifier("knowledge_chunks_hnsw")
        try:
            self._setup(dim)
        except BaseException:
            self._db.close()
            raise
        if not self.pgvector:
            logger.warning(
                "PostgreSQL at {}: the pgvector extension is not available, so vectors are stored as bytea and "
                "searched exactly in memory; install pgvector for an HNSW index",
                self._shown,
            )

    def _setup(self, dim: int | None) -> None:
        """Create the schema's tables once (idempotent, serialized across processes) and read its settings."""
        try:
            with self._session() as db, db.transaction():
                self._lock_key(db, "schema")
                db.execute(sql.SQL(_TABLES).format(s=sql.Identifier(self.schema)))
                meta = dict(db.execute(self._sql("SELECT key, value FROM {meta}")).fetchall())
                self.pgvector = meta["vectors"] == "pgvector" if "vectors" in meta else self._try_pgvector(db)
                self.dim = int(meta["dim"]) if "dim" in meta else None
                if dim is not None and self.dim is None:
                    self._add_vectors(db, dim)
        except psycopg.Error as err:
            raise StoreError(f"cannot set up schema {self.schema!r} at {self._shown}: {str(err).strip()}") from err
        if dim is not None and dim != self.dim:
            raise ValueError(f"schema {self.schema} holds {self.dim}-dimensional vectors, but {dim} were asked for")

    def _sql(self, template: str, **parts: sql.Composable) -> sql.Composed:
        """A statement with the schema's table names (and any other parts) filled in."""
        return sql.SQL(template).format(**self._tables, **parts)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as err:
            raise StoreError(f"cannot connect to PostgreSQL at {self._shown}: {str(err).strip()}") from err

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[Any]]:
        """The connection under the lock, re-opened if the server dropped it; server trouble is a StoreError."""
        with self._lock:
            if self._closed:
                raise StoreError(f"the knowledge store at {self._shown} is closed")
            if self._db.closed or self._db.broken:
                self._db = self._connect()
            try:
                yield self._db
            except psycopg.OperationalError as err:
                raise StoreError(f"PostgreSQL at {self._shown}: {str(err).strip()}") from err

    def _lock_key(self, db: psycopg.Connection[Any], *scope: str) -> None:
        """Serialize writers of one schema (or one kb) across processes for the rest of the transaction."""
        db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("\x1f".join((self.schema, *scope)),))

    def _try_pgvector(self, db: psycopg.Connection[Any]) -> bool:
        try:
            with db.transaction():  # a savepoint: a refused extension must not abort the schema setup
                db.execute("CREATE EXTENSION IF NOT EXISTS vector")
            found = True
        except psycopg.Error:
            found = False
        db.execute(self._sql("INSERT INTO {meta} VALUES ('vectors', %s)"), ("pgvector" if found else "bytea",))
        return found

    def _add_vectors(self, db: psycopg.Connection[Any], dim: int) -> None:
        """Add the embedding column (and its HNSW index) once the dimension is known."""
        column = sql.SQL("vector({})").format(sql.SQL(str(int(dim)))) if self.pgvector else sql.SQL("bytea")
        db.execute(self._sql("ALTER TABLE {chunks} ADD COLUMN IF NOT EXISTS embedding {column}", column=column))
        if self.pgvector:
            hnsw = "CREATE INDEX IF NOT EXISTS {hnsw} ON {chunks} USING hnsw (embedding vector_cosine_ops)"
            db.execute(self._sql(hnsw))
        db.execute(self._sql("INSERT INTO {meta} VALUES ('dim', %s)"), (str(dim),))
        self.dim = dim

    def _fix_dim(self, dim: int) -> None:
        with self._session() as db, db.transaction():
            self._lock_key(db, "schema")
            row = db.execute(self._sql("SELECT value FROM {meta} WHERE key = 'dim'")).fetchone()
            if row is None:
                self._add_vectors(db, dim)
            else:
                self.dim = int(row[0])

    def put_document(self, tenant: str, kb: str, doc: Document, vectors: npt.NDArray[np.floating]) -> str:
        """Store doc's chunks and vectors, replacing the same source atomically; "added"/"replaced"/"unchanged"."""
        check_scope(tenant, kb)
        matrix = check_vectors(doc, vectors, self.dim)
        if doc.chunks and self.dim is None:
            self._fix_dim(matrix.shape[1])
            matrix = check_vectors(doc, matrix, self.dim)
        with self._session() as db, db.transaction():
            self._lock_key(db, tenant, kb)
            old = db.execute(
                self._sql("SELECT id, digest FROM {documents} WHERE tenant = %s AND kb = %s AND source = %s"),
                (tenant, kb, doc.source),
            ).fetchone()
            if old is not None and old[1] == doc.digest:
                return "unchanged"
            if old is not None:
                db.execute(self._sql("DELETE FROM {documents} WHERE id = %s"), (old[0],))
            row = db.execute(
                self._sql("INSERT INTO {documents} (tenant, kb, source, kind, title, digest, chunks) "
                          "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"),
                (tenant, kb, doc.source, doc.kind, doc.title, doc.digest, len(doc.chunks)),
            ).fetchone()  # fmt: skip
            assert row is not None
            if doc.chunks:
                self._copy_chunks(db, row[0], tenant, kb, doc, matrix)
            self._touch(db, tenant, kb)
        return "added" if old is None else "replaced"

    def _copy_chunks(
        self, db: psycopg.Connection[Any], doc_id: int, tenant: str, kb: str, doc: Document, matrix: Matrix
    ) -> None:
        columns = "id, doc_id, tenant, kb, source, kind, ordinal, text, heading, headings, page, embedding"
        stmt = self._sql("COPY {chunks} (" + columns + ") FROM STDIN")
        types = ["text", "int8", "text", "text", "text", "text", "int4", "text", "text", "text[]", "int4"]
        with db.cursor() as cur, cur.copy(stmt) as copy:
            # pgvector parses its text form; psycopg knows no "vector" type to dump, so send text.
            copy.set_types([*types, "text" if self.pgvector else "bytea"])
            for chunk, vector in zip(doc.chunks, matrix, strict=True):
                embedding = _vector_text(vector) if self.pgvector else vector.astype("<f4").tobytes()
                # PostgreSQL text cannot hold NUL; a stray one from a PDF must not fail the whole document.
                text = chunk.text.replace("\x00", "")
                headings = [h.replace("\x00", "") for h in chunk.headings]
                copy.write_row((new_chunk_id(), doc_id, tenant, kb, doc.source, doc.kind, chunk.ordinal, text,
                                " ".join(headings), headings, chunk.page, embedding))  # fmt: skip

    def _touch(self, db: psycopg.Connection[Any], tenant: str, kb: str) -> None:
        db.execute(
            self._sql("INSERT INTO {versions} VALUES (%s, %s, %s, (SELECT count(*) FROM {chunks} "
                      "WHERE tenant = %s AND kb = %s)) "
                      "ON CONFLICT (tenant, kb) DO UPDATE SET version = excluded.version, rows = excluded.rows"),
            (tenant, kb, new_version(), tenant, kb),
        )  # fmt: skip
        self._cache.drop((tenant, kb))

    def delete_document(self, tenant: str, kb: str, source: str) -> bool:
        """Remove a document and its chunks; False when there was none."""
        check_scope(tenant, kb)
        with self._session() as db, db.transaction():
            self._lock_key(db, tenant, kb)
            gone = db.execute(
                self._sql("DELETE FROM {documents} WHERE tenant = %s AND kb = %s AND source = %s"),
                (tenant, kb, source),
            ).rowcount
            if gone:
                self._touch(db, tenant, kb)
        return bool(gone)

    def documents(self, tenant: str, kb: str) -> list[DocumentInfo]:
        """The kb's documents, by source."""
        check_scope(tenant, kb)
        with self._session() as db:
            rows = db.execute(
                self._sql("SELECT source, kind, title, digest, chunks, added FROM {documents} "
                          "WHERE tenant = %s AND kb = %s ORDER BY source"),
                (tenant, kb),
            ).fetchall()  # fmt: skip
        return [
            DocumentInfo(source, kind, title, digest, count, added.astimezone(UTC).isoformat(timespec="seconds"))
            for source, kind, title, digest, count, added in rows
        ]

    def texts(self, tenant: str, kb: str) -> list[str]:
        """Every chunk text of the kb."""
        check_scope(tenant, kb)
        with self._session() as db:
            rows = db.execute(
                self._sql("SELECT text FROM {chunks} WHERE tenant = %s AND kb = %s"), (tenant, kb)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def lexical(
        self, tenant: str, kb: str, query: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids best first by ts_rank_cd over OR-ed query words (text weighs more than headings)."""
        check_scope(tenant, kb)
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        tsquery = sql.SQL(" || ").join([sql.SQL("plainto_tsquery('english', %s)")] * len(terms))
        where, args = _filter_sql(filters)
        stmt = self._sql(
            "SELECT c.id, ts_rank_cd(c.tsv, query.q) AS score FROM (SELECT {tsquery} AS q) AS query, {chunks} c "
            "WHERE c.tsv @@ query.q AND c.tenant = %s AND c.kb = %s{where} ORDER BY score DESC, c.id LIMIT %s",
            tsquery=tsquery,
            where=where,
        )
        with self._session() as db:
            rows = db.execute(stmt, (*terms, tenant, kb, *args, k)).fetchall()
        return [(str(i), float(s)) for i, s in rows]

    def dense(
        self, tenant: str, kb: str, vector: npt.NDArray[np.floating], k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids best first by cosine similarity: HNSW for large kbs, exact otherwise or as a fallback."""
        check_scope(tenant, kb)
        with self._session() as db:
            if self.dim is None:
                row = db.execute(self._sql("SELECT value FROM {meta} WHERE key = 'dim'")).fetchone()
                self.dim = int(row[0]) if row else None
            if self.dim is None:
                return []  # nothing was ever stored, so no dimension to check against
            query = check_query(vector, self.dim)
            state = db.execute(
                self._sql("SELECT version, rows FROM {versions} WHERE tenant = %s AND kb = %s"),
                (tenant, kb),
            ).fetchone()
            if state is None or k <= 0:
                return []
            if not self.pgvector:
                entry = self._cache.get((tenant, kb), state[0], lambda: self._load(db, tenant, kb, state[0]))
                return entry.search(query, k, filters)
            text = _vector_text(query)
            if state[1] >= self.exact_below:
                hits = self._nearest(db, tenant, kb, text, k, filters, exact=False)
                if len(hits) == k:
                    return hits
            return self._nearest(db, tenant, kb, text, k, filters, exact=True)

    def _nearest(
        self, db: psycopg.Connection[Any], tenant: str, kb: str, text: str, k: int, filters: Filters | None, exact: bool
    ) -> list[tuple[str, float]]:
        where, args = _filter_sql(filters)
        scope = self._sql("FROM {chunks} c WHERE c.tenant = %s AND c.kb = %s{where}", where=where)
        if exact:
            # MATERIALIZED keeps the planner off the HNSW index: every row of the kb is scored.
            stmt = sql.SQL(
                "WITH s AS MATERIALIZED (SELECT c.id, c.embedding <=> %s::vector AS d {scope}) "
                "SELECT id, 1 - d FROM s ORDER BY d, id LIMIT %s"
            ).format(scope=scope)
            return [(str(i), float(s)) for i, s in db.execute(stmt, (text, tenant, kb, *args, k)).fetchall()]
        with db.transaction():
            ef_search = min(1000, max(MIN_EF_SEARCH, 2 * k))
            db.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(ef_search)))
            stmt = sql.SQL(
                "SELECT c.id, 1 - (c.embedding <=> %s::vector) {scope} ORDER BY c.embedding <=> %s::vector LIMIT %s"
            ).format(scope=scope)
            rows = db.execute(stmt, (text, tenant, kb, *args, text, k)).fetchall()
        return [(str(i), float(s)) for i, s in rows]

    def _load(self, db: psycopg.Connection[Any], tenant: str, kb: str, version: int) -> KbMatrix:
        assert self.dim is not None
        rows = db.execute(
            self._sql("SELECT id, embedding, kind, source FROM {chunks} WHERE tenant = %s AND kb = %s ORDER BY id"),
            (tenant, kb),
        ).fetchall()
        return kb_matrix(version, rows, self.dim)

    def chunks(self, tenant: str, kb: str, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The kb's chunks among ``ids``; other kbs' ids and unknown ids are left out."""
        check_scope(tenant, kb)
        if not ids:
            return {}
        with self._session() as db:
            rows = db.execute(
                self._sql("SELECT c.id, c.source, c.kind, d.title, c.ordinal, c.text, c.headings, c.page "
                          "FROM {chunks} c JOIN {documents} d ON d.id = c.doc_id "
                          "WHERE c.tenant = %s AND c.kb = %s AND c.id = ANY(%s)"),
                (tenant, kb, list(ids)),
            ).fetchall()  # fmt: skip
        return {r[0]: StoredChunk(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6]), r[7]) for r in rows}

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._closed = True
            self._db.close()
