"""Spoken answers from the bundled Backbeam documents: real embedder, real SQLite store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from talktrack.calls.agent import bundled_agent_dir
from talktrack.knowledge.answer import Answerer
from talktrack.knowledge.embedder import default_embedder
from talktrack.knowledge.numbers import numbers_in
from talktrack.knowledge.retrieval import KnowledgeBase
from talktrack.knowledge.sqlite_store import SqliteStore

DOCS = bundled_agent_dir() / "knowledge"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    store = SqliteStore(tmp_path_factory.mktemp("kb") / "knowledge.db")
    yield store
    store.close()


@pytest.fixture(scope="module")
def kb(store: SqliteStore) -> KnowledgeBase:
    kb = KnowledgeBase(store, default_embedder(), "acme", "backbeam")
    report = kb.add_files(sorted(DOCS.iterdir()))
    assert not report.errors and len(report.added) == 3
    return kb


@pytest.fixture(scope="module")
def answerer(kb: KnowledgeBase) -> Answerer:
    return Answerer(kb, company="Backbeam")


def test_the_soc2_question_is_answered_from_the_whitepaper(answerer: Answerer) -> None:
    result = answerer.answer("Does your SOC 2 report cover Type II?")
    assert result.answer is not None, result
    assert "SOC 2 Type II" in result.answer.text
    assert result.answer.text.startswith("Yes.")
    assert result.answer.sources[0].startswith("security-whitepaper.md")
    assert "SOC 2" in result.answer.sources[0]  # the heading path is part of the citation
    record = result.record()
    assert record["answered"] is True and record["passages"]


def test_the_company_speaks_in_the_first_person(answerer: Answerer) -> None:
    result = answerer.answer("Does your SOC 2 report cover Type II?")
    assert result.answer is not None
    assert "We hold" in result.answer.text and "Backbeam holds" not in result.answer.text


@pytest.mark.parametrize(
    "question",
    [
        "Are you FedRAMP authorized?",
        "Who is your CEO?",
        "Do you have an office in London?",
        "Do you have a mobile app?",
    ],
)
def test_questions_the_documents_do_not_cover_are_not_answered(answerer: Answerer, question: str) -> None:
    result = answerer.answer(question)
    assert result.answer is None
    assert result.reason.startswith(("not_covered", "unknown_term"))


def test_an_acronym_the_documents_only_spell_out_is_understood(answerer: Answerer) -> None:
    result = answerer.answer("Will you sign a DPA?")
    assert result.answer is not None, result.reason
    assert "Data Processing Agreement" in result.answer.text


@pytest.mark.parametrize(
    "question",
    [
        "How much does the Starter plan cost?",
        "How quickly will you notify us about a breach?",
        "What happens to our backups if we cancel?",
        "Is there a discount for paying annually?",
    ],
)
def test_every_number_said_is_in_the_passage_it_came_from(answerer: Answerer, kb: KnowledgeBase, question: str) -> None:
    result = answerer.answer(question)
    assert result.answer is not None
    said = numbers_in(result.answer.text)
    assert said  # these answers are figures
    [passage] = result.answer.passages
    source = kb.store.chunks(kb.tenant, kb.name, [passage])[passage].text
    assert said <= numbers_in(source)


def test_an_answer_is_one_or_two_sentences(answerer: Answerer) -> None:
    for question in ("How often do backups run?", "Can I restore just one field?", "Who does your SOC 2 audit?"):
        result = answerer.answer(question)
        assert result.answer is not None
        assert 1 <= result.answer.text.count(". ") + 1 <= 3  # "Yes." may lead two sentences


def test_another_tenant_never_sees_these_documents(store: SqliteStore, kb: KnowledgeBase) -> None:
    other = KnowledgeBase(store, kb.embedder, "globex", "backbeam")  # same knowledge-base name, other tenant
    assert other.search("Does your SOC 2 report cover Type II?") == []
    assert Answerer(other, company="Backbeam").answer("Does your SOC 2 report cover Type II?").answer is None
    assert not other.mentions("Kessler")
    assert kb.mentions("Kessler")


def test_a_changed_document_replaces_its_chunks_and_an_unchanged_one_is_skipped(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "kb.db")
    kb = KnowledgeBase(store, default_embedder(), "acme", "docs")
    doc = tmp_path / "pricing.md"
    doc.write_text("# Pricing\n\nStarter costs $4 per user per month.\n")
    assert kb.add_files([doc]).added == ["pricing.md"]
    assert kb.add_files([doc]).unchanged == ["pricing.md"]
    doc.write_text("# Pricing\n\nStarter costs $5 per user per month.\n")
    assert kb.add_files([doc]).replaced == ["pricing.md"]
    [info] = kb.documents()
    hits = kb.search("How much is Starter?")
    assert len(hits) == info.chunks == 1
    assert "$5" in hits[0].chunk.text
    store.close()


def test_a_bad_file_is_reported_and_the_rest_of_the_batch_goes_in(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "kb.db")
    kb = KnowledgeBase(store, default_embedder(), "acme", "docs")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n% not really a PDF")
    good = tmp_path / "faq.md"
    shutil.copyfile(DOCS / "product-faq.md", good)
    report = kb.add_files([broken, good])
    assert report.added == ["faq.md"]
    [error] = report.errors
    assert "broken.pdf" in str(error)
    assert "1 failed" in report.summary()
    store.close()


def test_calls_answering_at_the_same_time_get_the_same_answers(answerer: Answerer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    questions = ["How often do backups run?", "Can I restore just one field?", "What's the price of the Business plan?"]
    alone = [answerer.answer(q).answer for q in questions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: answerer.answer(q).answer, questions * 4))
    assert [a.text if a else None for a in together] == [a.text if a else None for a in alone] * 4
