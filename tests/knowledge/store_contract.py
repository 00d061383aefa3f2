"""What every knowledge store does: test modules import these tests and provide a ``store_url`` fixture."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pytest

from talktrack.knowledge.documents import Chunk, Document, digest_of
from talktrack.knowledge.store import Filters, KnowledgeStore, StoreError, open_store

DIM = 16

HOSTILE_QUERIES = [
    "",
    "   ",
    '"',
    '"unbalanced quote',
    "AND",
    "OR NOT AND",
    "NEAR(",
    "NEAR(pricing security, 2)",
    "pricing AND OR NOT",
    "*",
    "price*",
    "^start",
    "text:pricing",
    "-minus +plus",
    "((((",
    "it's the customer's \"best\" plan!?",
    "'; DROP TABLE chunks; --",
    "\\ \x00 \t\n",
    "émoji 🙂 ünïcode — dash",
    "a:b:c {x} [y] <z> | & !",
    "word " * 500,
]


def unit_vectors(n: int, seed: int, dim: int = DIM) -> npt.NDArray[np.float32]:
    """n random unit vectors, the same for the same seed."""
    v = np.random.default_rng(seed).standard_normal((n, dim))
    unit: npt.NDArray[np.float32] = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return unit


def make_doc(
    source: str, texts: list[str], kind: str = "text", title: str = "", headings: tuple[str, ...] = ()
) -> Document:
    """A document whose digest follows its text, so a changed text is a changed document."""
    chunks = tuple(Chunk(i, t, headings, i + 1 if kind == "pdf" else None) for i, t in enumerate(texts))
    digest = digest_of("\n".join([kind, title, *texts]).encode())
    return Document(source, kind, title or source, digest, chunks)


@pytest.fixture
def store(store_url: str) -> Iterator[KnowledgeStore]:
    s = open_store(store_url)
    yield s
    s.close()


def ordinals(store: KnowledgeStore, tenant: str, kb: str, hits: list[tuple[str, float]]) -> list[tuple[str, int]]:
    """(source, ordinal) of each hit, in order."""
    found = store.chunks(tenant, kb, [i for i, _ in hits])
    return [(found[i].source, found[i].ordinal) for i, _ in hits]


def test_put_reports_added_unchanged_replaced(store: KnowledgeStore) -> None:
    doc = make_doc("faq.md", ["We integrate with Salesforce."])
    assert store.put_document("t", "kb", doc, unit_vectors(1, 1)) == "added"
    assert store.put_document("t", "kb", doc, unit_vectors(1, 1)) == "unchanged"
    changed = make_doc("faq.md", ["We integrate with HubSpot."])
    assert store.put_document("t", "kb", changed, unit_vectors(1, 2)) == "replaced"


def test_unchanged_document_writes_nothing(store: KnowledgeStore) -> None:
    doc = make_doc("faq.md", ["We integrate with Salesforce."])
    store.put_document("t", "kb", doc, unit_vectors(1, 1))
    same_digest = Document(doc.source, doc.kind, doc.title, doc.digest, (Chunk(0, "Zeppelin"),))
    assert store.put_document("t", "kb", same_digest, unit_vectors(1, 2)) == "unchanged"
    assert store.lexical("t", "kb", "zeppelin", 5) == []
    assert len(store.lexical("t", "kb", "salesforce", 5)) == 1


def test_reingesting_changed_document_leaves_no_stale_chunks(store: KnowledgeStore) -> None:
    old = make_doc("guide.md", ["The zeppelin plan.", "Billing is monthly.", "Support is by email."])
    store.put_document("t", "kb", old, unit_vectors(3, 1))
    old_ids = [i for i, _ in store.dense("t", "kb", unit_vectors(1, 1)[0], 10)]
    new = make_doc("guide.md", ["Billing is yearly.", "Support is by phone."])
    assert store.put_document("t", "kb", new, unit_vectors(2, 2)) == "replaced"
    assert store.lexical("t", "kb", "zeppelin", 10) == []
    assert len(store.lexical("t", "kb", "billing support", 10)) == 2
    assert len(store.dense("t", "kb", unit_vectors(1, 3)[0], 10)) == 2
    assert store.chunks("t", "kb", old_ids) == {}
    assert [d.chunks for d in store.documents("t", "kb")] == [2]


def test_delete_document(store: KnowledgeStore) -> None:
    store.put_document("t", "kb", make_doc("a.md", ["Alpha pricing."]), unit_vectors(1, 1))
    store.put_document("t", "kb", make_doc("b.md", ["Beta pricing."]), unit_vectors(1, 2))
    assert store.delete_document("t", "kb", "a.md") is True
    assert store.delete_document("t", "kb", "a.md") is False
    assert [d.source for d in store.documents("t", "kb")] == ["b.md"]
    assert ordinals(store, "t", "kb", store.lexical("t", "kb", "pricing", 5)) == [("b.md", 0)]
    assert len(store.dense("t", "kb", unit_vectors(1, 1)[0], 5)) == 1


def test_documents_lists_each_source(store: KnowledgeStore) -> None:
    b = make_doc("b.pdf", ["One.", "Two.", "Three."], kind="pdf", title="Bee")
    a = make_doc("a.md", ["Only."], kind="markdown", title="Ay")
    store.put_document("t", "kb", b, unit_vectors(3, 1))
    store.put_document("t", "kb", a, unit_vectors(1, 2))
    docs = store.documents("t", "kb")
    assert [(d.source, d.kind, d.title, d.digest, d.chunks) for d in docs] == [
        ("a.md", "markdown", "Ay", a.digest, 1),
        ("b.pdf", "pdf", "Bee", b.digest, 3),
    ]
    assert all(datetime.fromisoformat(d.added).tzinfo is not None for d in docs)


def test_texts_are_the_kbs_chunks_only(store: KnowledgeStore) -> None:
    store.put_document("t", "kb", make_doc("a.md", ["Alpha one.", "Alpha two."]), unit_vectors(2, 1))
    store.put_document("other", "kb", make_doc("a.md", ["Other tenant."]), unit_vectors(1, 2))
    assert sorted(store.texts("t", "kb")) == ["Alpha one.", "Alpha two."]
    assert store.texts("t", "nothing") == []


def test_lexical_ranks_the_chunk_with_the_words_first(store: KnowledgeStore) -> None:
    texts = [
        "Our onboarding takes two weeks.",
        "Data is encrypted at rest and in transit.",
        "The annual plan includes a dedicated onboarding manager and priority support.",
        "We are based in Berlin.",
    ]
    store.put_document("t", "kb", make_doc("faq.md", texts), unit_vectors(4, 1))
    hits = store.lexical("t", "kb", "Do I get a dedicated onboarding manager?", 10)
    assert ordinals(store, "t", "kb", hits)[:2] == [("faq.md", 2), ("faq.md", 0)]
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert len(store.lexical("t", "kb", "onboarding", 1)) == 1


def test_lexical_matches_heading_path_and_word_forms(store: KnowledgeStore) -> None:
    store.put_document("t", "kb", make_doc("sec.md", ["We passed the audit."], headings=("Security", "SOC 2")),
                       unit_vectors(1, 1))  # fmt: skip
    store.put_document("t", "kb", make_doc("price.md", ["Prices start at four dollars."]), unit_vectors(1, 2))
    assert ordinals(store, "t", "kb", store.lexical("t", "kb", "is it secure? security", 5)) == [("sec.md", 0)]
    assert ordinals(store, "t", "kb", store.lexical("t", "kb", "pricing", 5)) == [("price.md", 0)]


def test_dense_ranks_the_nearest_vector_first(store: KnowledgeStore) -> None:
    vectors = unit_vectors(30, 1)
    store.put_document("t", "kb", make_doc("many.md", [f"Passage {i}." for i in range(30)]), vectors)
    query = vectors[7] + 0.2 * unit_vectors(1, 2)[0]
    query /= np.linalg.norm(query)
    hits = store.dense("t", "kb", query, 5)
    expected = np.argsort(-(vectors @ query))[:5]
    assert [o for _, o in ordinals(store, "t", "kb", hits)] == [int(i) for i in expected]
    assert hits[0][1] == pytest.approx(float(vectors[7] @ query), abs=1e-4)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_filters_keep_only_matching_kinds_and_sources(store: KnowledgeStore) -> None:
    store.put_document("t", "kb", make_doc("a.pdf", ["Onboarding in a PDF."], kind="pdf"), unit_vectors(1, 1))
    store.put_document("t", "kb", make_doc("b.md", ["Onboarding in Markdown."], kind="markdown"), unit_vectors(1, 2))
    store.put_document("t", "kb", make_doc("c.txt", ["Onboarding on a call."], kind="transcript"), unit_vectors(1, 3))
    q = unit_vectors(1, 1)[0]

    def sources(filters: Filters) -> tuple[set[str], set[str]]:
        lexical = {s for s, _ in ordinals(store, "t", "kb", store.lexical("t", "kb", "onboarding", 10, filters))}
        dense = {s for s, _ in ordinals(store, "t", "kb", store.dense("t", "kb", q, 10, filters))}
        return lexical, dense

    assert sources(Filters()) == ({"a.pdf", "b.md", "c.txt"},) * 2
    assert sources(Filters(kinds=("pdf",))) == ({"a.pdf"},) * 2
    assert sources(Filters(sources=("b.md", "c.txt"))) == ({"b.md", "c.txt"},) * 2
    assert sources(Filters(kinds=("pdf", "markdown"), sources=("b.md", "c.txt"))) == ({"b.md"},) * 2
    assert sources(Filters(kinds=("docx",))) == (set(), set())


def test_tenants_and_kbs_never_see_each_other(store: KnowledgeStore) -> None:
    scopes = [("acme", "sales"), ("globex", "sales"), ("acme", "support")]
    words = ["alpha", "bravo", "charlie"]
    for n, ((tenant, kb), word) in enumerate(zip(scopes, words, strict=True)):
        doc = make_doc("faq.md", [f"The {word} answer.", f"More {word} detail."], title=word)
        assert store.put_document(tenant, kb, doc, unit_vectors(2, 10 + n)) == "added"
    for n, ((tenant, kb), word) in enumerate(zip(scopes, words, strict=True)):
        [info] = store.documents(tenant, kb)
        assert info.title == word
        own = store.lexical(tenant, kb, "alpha bravo charlie answer detail", 10)
        assert {c.title for c in store.chunks(tenant, kb, [i for i, _ in own]).values()} == {word}
        assert len(own) == 2
        for m, (other_tenant, other_kb) in enumerate(scopes):
            if m == n:
                continue
            theirs = store.dense(other_tenant, other_kb, unit_vectors(2, 10 + m)[0], 10)
            assert store.chunks(tenant, kb, [i for i, _ in theirs]) == {}
            mine = store.dense(tenant, kb, unit_vectors(2, 10 + m)[0], 10)
            assert {i for i, _ in mine} == {i for i, _ in own}
            assert store.lexical(tenant, kb, words[m], 10) == []
    assert store.delete_document("acme", "sales", "faq.md") is True
    assert [d.title for d in store.documents("globex", "sales")] == ["bravo"]
    assert [d.title for d in store.documents("acme", "support")] == ["charlie"]
    same = make_doc("faq.md", ["The bravo answer.", "More bravo detail."], title="bravo")
    assert store.put_document("initech", "sales", same, unit_vectors(2, 11)) == "added"


def test_hostile_lexical_queries_never_raise(store: KnowledgeStore) -> None:
    store.put_document("t", "kb", make_doc("faq.md", ["Pricing and security, near the start."]), unit_vectors(1, 1))
    for query in HOSTILE_QUERIES:  # one store for all of them: a schema per query would be slow on PostgreSQL
        hits = store.lexical("t", "kb", query, 5)
        assert all(isinstance(i, str) and isinstance(s, float) for i, s in hits), query


def test_quoted_operators_still_find_their_words(store: KnowledgeStore) -> None:
    store.put_document("t", "kb", make_doc("faq.md", ["Pricing starts low.", "Security first."]), unit_vectors(2, 1))
    hits = store.lexical("t", "kb", '"pricing" AND NEAR(security', 5)
    assert {o for _, o in ordinals(store, "t", "kb", hits)} == {0, 1}


def test_wrong_dimension_raises_with_both_numbers(store: KnowledgeStore) -> None:
    store.put_document("t", "kb", make_doc("a.md", ["Alpha."]), unit_vectors(1, 1))
    with pytest.raises(ValueError, match=rf"(?=.*\b{DIM + 3}\b)(?=.*\b{DIM}\b)"):
        store.put_document("t", "kb", make_doc("b.md", ["Beta."]), unit_vectors(1, 2, dim=DIM + 3))
    with pytest.raises(ValueError, match=rf"(?=.*\b{DIM - 1}\b)(?=.*\b{DIM}\b)"):
        store.dense("t", "kb", unit_vectors(1, 3, dim=DIM - 1)[0], 5)
    assert [d.source for d in store.documents("t", "kb")] == ["a.md"]


def test_vectors_must_align_with_chunks(store: KnowledgeStore) -> None:
    with pytest.raises(ValueError, match="a.md"):
        store.put_document("t", "kb", make_doc("a.md", ["One.", "Two."]), unit_vectors(3, 1))
    assert store.documents("t", "kb") == []


def test_reopened_store_keeps_documents_and_dimension(store: KnowledgeStore, store_url: str) -> None:
    store.put_document("t", "kb", make_doc("a.md", ["Alpha pricing."]), unit_vectors(1, 1))
    again = open_store(store_url)
    try:
        assert [d.source for d in again.documents("t", "kb")] == ["a.md"]
        with pytest.raises(ValueError, match=str(DIM)):
            again.put_document("t", "kb", make_doc("b.md", ["Beta."]), unit_vectors(1, 2, dim=DIM * 2))
    finally:
        again.close()


def test_chunks_round_trip_their_fields(store: KnowledgeStore) -> None:
    doc = make_doc("sec.pdf", ["SOC 2 Type II.", "ISO 27001."], kind="pdf", title="Security", headings=("Security",))
    store.put_document("t", "kb", doc, unit_vectors(2, 1))
    ids = [i for i, _ in store.dense("t", "kb", unit_vectors(2, 1)[1], 5)]
    found = store.chunks("t", "kb", [*ids, "no-such-id"])
    assert set(found) == set(ids)
    first = found[ids[0]]
    assert (first.source, first.kind, first.title, first.ordinal, first.text) == (
        "sec.pdf", "pdf", "Security", 1, "ISO 27001.")  # fmt: skip
    assert (first.headings, first.page, first.citation) == (("Security",), 2, "sec.pdf p. 2 · Security")


def test_empty_kb_and_wordless_query_find_nothing(store: KnowledgeStore) -> None:
    assert store.lexical("t", "kb", "pricing", 5) == []
    assert store.dense("t", "kb", unit_vectors(1, 1)[0], 5) == []
    store.put_document("t", "kb", make_doc("a.md", ["Alpha."]), unit_vectors(1, 1))
    assert store.lexical("t", "kb", "?!", 5) == []
    assert store.lexical("t", "other", "alpha", 5) == []
    assert store.dense("t", "other", unit_vectors(1, 1)[0], 5) == []


def test_chunk_ids_are_unique_across_documents_and_tenants(store: KnowledgeStore) -> None:
    for tenant in ("a", "b"):
        for source in ("x.md", "y.md"):
            store.put_document(tenant, "kb", make_doc(source, ["One.", "Two."]), unit_vectors(2, 1))
    ids = [i for t in ("a", "b") for i, _ in store.dense(t, "kb", unit_vectors(1, 1)[0], 10)]
    assert len(ids) == 8 and len(set(ids)) == 8


def test_a_second_handle_sees_writes(store: KnowledgeStore, store_url: str) -> None:
    store.put_document("t", "kb", make_doc("a.md", ["Alpha."]), unit_vectors(1, 1))
    before = store.dense("t", "kb", unit_vectors(1, 1)[0], 5)
    other = open_store(store_url)
    try:
        other.put_document("t", "kb", make_doc("a.md", ["Alpha two.", "Alpha three."]), unit_vectors(2, 2))
    finally:
        other.close()
    after = store.dense("t", "kb", unit_vectors(1, 1)[0], 5)
    assert len(before) == 1 and len(after) == 2 and not {i for i, _ in before} & {i for i, _ in after}


def test_threads_can_share_a_store(store: KnowledgeStore) -> None:
    store.put_document("t", "kb", make_doc("a.md", [f"Pricing passage {i}." for i in range(20)]), unit_vectors(20, 1))
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for n in range(20):
                assert store.lexical("t", "kb", "pricing passage", 5)
                assert store.dense("t", "kb", unit_vectors(1, n)[0], 5)
        except BaseException as err:  # a failure in a thread must reach the test
            errors.append(err)

    def write() -> None:
        try:
            for n in range(5):
                store.put_document("t", "kb", make_doc(f"w{n}.md", ["Pricing written."]), unit_vectors(1, 100 + n))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=search) for _ in range(3)] + [threading.Thread(target=write)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.documents("t", "kb")) == 6


def test_bad_urls_raise_store_error() -> None:
    with pytest.raises(StoreError, match="mysql"):
        open_store("mysql://db.example/kb")
    with pytest.raises(StoreError, match="127.0.0.1") as caught:
        open_store("postgresql://sales:hunter2@127.0.0.1:1/kb")
    assert "hunter2" not in str(caught.value)
