"""The PostgreSQL store: the shared contract on pgserver (with pgvector) and the system server (without)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from loguru import logger

from talktrack.knowledge.pg_store import PgStore, split_schema
from talktrack.knowledge.store import StoreError
from talktrack.testing.pgserver import LocalPostgres

from .store_contract import *  # noqa: F403  (the contract's tests run here against both servers)
from .store_contract import make_doc, unit_vectors

pytestmark = pytest.mark.integration

# The system PostgreSQL 15 (trust auth, no pgvector); override where it lives elsewhere.
SYSTEM_PG_URL = os.environ.get("TALKTRACK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


@pytest.fixture(scope="module")
def pg_server() -> Iterator[LocalPostgres]:
    with LocalPostgres() as server:
        yield server


@pytest.fixture(scope="module")
def system_pg() -> str:
    try:
        psycopg.connect(SYSTEM_PG_URL, connect_timeout=3).close()
    except psycopg.Error as err:
        pytest.skip(f"no PostgreSQL at {SYSTEM_PG_URL}: {err}")
    return SYSTEM_PG_URL


@pytest.fixture(scope="module", params=["pgserver", "system"])
def server_url(request: pytest.FixtureRequest) -> str:
    if request.param == "pgserver":
        return str(request.getfixturevalue("pg_server").url)
    return str(request.getfixturevalue("system_pg"))


def _schema_url(base: str) -> Iterator[str]:
    schema = f"tt_{uuid.uuid4().hex[:12]}"
    yield with_schema(base, schema)
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def store_url(server_url: str) -> Iterator[str]:
    yield from _schema_url(server_url)


@pytest.fixture
def vector_url(pg_server: LocalPostgres) -> Iterator[str]:
    yield from _schema_url(pg_server.url)


@pytest.fixture
def plain_url(system_pg: str) -> Iterator[str]:
    yield from _schema_url(system_pg)


def test_split_schema_takes_only_the_schema_parameter() -> None:
    assert split_schema("postgresql://u@h/db?schema=kb1&sslmode=disable") == (
        "postgresql://u@h/db?sslmode=disable", "kb1")  # fmt: skip
    assert split_schema("postgresql://u@h/db") == ("postgresql://u@h/db", None)


def test_pgvector_gives_an_hnsw_index(vector_url: str) -> None:
    store = PgStore(vector_url, dim=8)
    assert store.pgvector
    with psycopg.connect(store.url) as db:
        indexes = [r[0] for r in db.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s", (store.schema,))]
        column = db.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attname = 'embedding' "
            "AND attrelid = %s::regclass",
            (f'"{store.schema}".knowledge_chunks',),
        ).fetchone()
    store.close()
    assert any("hnsw" in i and "vector_cosine_ops" in i for i in indexes)
    assert any("gin" in i and "tsv" in i for i in indexes)
    assert column == ("vector(8)",)


def test_hnsw_search_fills_k_for_a_small_kb_among_large_ones(vector_url: str) -> None:
    # exact_below=0 sends every search through the index, which filters tenants only after its walk.
    store = PgStore(vector_url, exact_below=0)
    big = unit_vectors(400, 1)
    store.put_document("big", "kb", make_doc("big.md", [f"Big {i}." for i in range(400)]), big)
    small = unit_vectors(6, 2)
    store.put_document("small", "kb", make_doc("small.md", [f"Small {i}." for i in range(6)]), small)
    hits = store.dense("small", "kb", big[0], 5)
    assert len(hits) == 5
    assert {c.source for c in store.chunks("small", "kb", [i for i, _ in hits]).values()} == {"small.md"}
    nearest = store.dense("big", "kb", big[3], 3)
    assert store.chunks("big", "kb", [nearest[0][0]])[nearest[0][0]].ordinal == 3
    store.close()


def test_missing_pgvector_logs_one_warning(plain_url: str) -> None:
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING")
    try:
        store = PgStore(plain_url)
        store.put_document("t", "kb", make_doc("a.md", ["Alpha.", "Beta."]), unit_vectors(2, 1))
        store.dense("t", "kb", unit_vectors(1, 1)[0], 5)
        store.dense("t", "kb", unit_vectors(1, 2)[0], 5)
        store.close()
    finally:
        logger.remove(sink)
    assert not store.pgvector
    assert len(warnings) == 1 and "pgvector" in warnings[0]


def test_setup_is_idempotent_and_kept_per_schema(store_url: str) -> None:
    first = PgStore(store_url)
    first.put_document("t", "kb", make_doc("a.md", ["Alpha."]), unit_vectors(1, 1))
    second = PgStore(store_url)
    assert [d.source for d in second.documents("t", "kb")] == ["a.md"]
    first.close()
    second.close()
    base, schema = split_schema(store_url)
    other = PgStore(with_schema(base, f"{schema}_other"))
    try:
        assert other.documents("t", "kb") == []
    finally:
        other.close()
        with psycopg.connect(base, autocommit=True) as db:
            db.execute(f'DROP SCHEMA IF EXISTS "{schema}_other" CASCADE')


def test_a_closed_store_says_so(store_url: str) -> None:
    store = PgStore(store_url)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.documents("t", "kb")
