"""The SQLite store: the shared contract, plus what is particular to one file with FTS5."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from talktrack.knowledge.sqlite_store import SqliteStore, fts_query
from talktrack.knowledge.store import MAX_QUERY_TERMS, StoreError, open_store

from .store_contract import *  # noqa: F403  (the contract's tests run here against SQLite)
from .store_contract import HOSTILE_QUERIES, make_doc, unit_vectors


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'knowledge.db'}"


def test_database_is_one_file_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "kb" / "knowledge.db"
    store = open_store(str(path))
    store.put_document("t", "kb", make_doc("a.md", ["Alpha."]), unit_vectors(1, 1))
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"documents", "chunks", "chunk_fts"} <= tables


def test_plain_paths_and_sqlite_urls_open_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    first = open_store(f"sqlite:///{path}")
    first.put_document("t", "kb", make_doc("a.md", ["Alpha."]), unit_vectors(1, 1))
    first.close()
    second = open_store(str(path))
    assert isinstance(second, SqliteStore)
    assert [d.source for d in second.documents("t", "kb")] == ["a.md"]
    second.close()


def test_fts_query_quotes_every_word_and_ors_them() -> None:
    assert fts_query('Pricing AND "NEAR"(x) -y*') == '"pricing" OR "and" OR "near" OR "x" OR "y"'
    assert fts_query("the the THE") == '"the"'
    assert fts_query("?! ...") == ""


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_fts_query_is_always_valid_fts5(query: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5 (text, tokenize = 'porter unicode61')")
    match = fts_query(query)
    if match:
        db.execute("SELECT rowid FROM f WHERE f MATCH ?", (match,)).fetchall()
    assert match.count('"') % 2 == 0


def test_fts_query_keeps_a_bounded_number_of_words() -> None:
    query = " ".join(f"word{i}" for i in range(MAX_QUERY_TERMS * 3))
    assert fts_query(query).count(" OR ") == MAX_QUERY_TERMS - 1


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages of a database\n" * 200)
    with pytest.raises(StoreError, match="notes.db"):
        open_store(str(path))


def test_a_path_under_a_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(StoreError, match="plain.txt"):
        open_store(f"sqlite:///{tmp_path / 'plain.txt' / 'knowledge.db'}")


def test_sqlite_url_without_a_path_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="sqlite"):
        open_store("sqlite://")


def test_a_dimension_that_disagrees_with_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    store = SqliteStore(path)
    store.put_document("t", "kb", make_doc("a.md", ["Alpha."]), unit_vectors(1, 1, dim=8))
    store.close()
    with pytest.raises(ValueError, match=r"(?=.*\b8\b)(?=.*\b12\b)"):
        SqliteStore(path, dim=12)
    same = SqliteStore(path, dim=8)
    assert same.dim == 8
    same.close()


def test_a_constructor_dimension_is_enforced_from_the_first_write(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "knowledge.db", dim=8)
    with pytest.raises(ValueError, match=r"(?=.*\b8\b)(?=.*\b5\b)"):
        store.put_document("t", "kb", make_doc("a.md", ["Alpha."]), unit_vectors(1, 1, dim=5))
    store.close()
