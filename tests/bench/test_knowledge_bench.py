"""The knowledge benchmark's question set, judging and a small run end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from talktrack.bench.knowledge import filler_pages, judge, load_questions, run, summarize, write_filler
from talktrack.knowledge.answer import AnswerResult, SpokenAnswer


def test_the_question_set_has_what_the_benchmark_promises() -> None:
    questions = load_questions()
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 40
    assert len(questions) - len(answerable) >= 10
    assert sum(q.paraphrase for q in answerable) >= 5
    assert all(q.expect for q in answerable)


def test_judging_numbers_and_invented_figures() -> None:
    [question] = [q for q in load_questions() if q.text == "Do you have a free trial?"]
    said = SpokenAnswer("Yes, there's a fourteen-day free trial, and 99 more.", ("pricing.html",), ("c1",), 0.7)
    outcome = judge(question, AnswerResult(said, "answered", 0.7, (), 5.0), corpus_numbers={"14"})
    assert outcome.correct
    assert outcome.invented == ["99"]
    abstained = judge(question, AnswerResult(None, "not_covered", 0.1, (), 5.0), corpus_numbers={"14"})
    assert not abstained.correct and not abstained.found


def test_filler_is_real_prose_in_pages_of_fixed_size(tmp_path: Path) -> None:
    pages = list(filler_pages(3))
    assert len(pages) == 3 and all(len(page.split()) == 400 for page in pages)
    files = write_filler(tmp_path, 12)
    assert len(files) == 2 and "Reference page 12" in files[1].read_text()


@pytest.mark.integration
def test_a_small_run_answers_from_the_documents(tmp_path: Path) -> None:
    outcomes, at_scale, facts = run(13, tmp_path, 0.35)
    figures = summarize(outcomes)
    assert figures["questions"] == len(load_questions())
    assert facts["chunks"] > 30  # the documents and ten filler pages
    assert figures["invented_facts"] == 0
    assert float(figures["recall_at_3"] or 0) >= 0.8  # a floor far under the measured figure: the bench is the judge
    assert len(at_scale) == len(outcomes)
