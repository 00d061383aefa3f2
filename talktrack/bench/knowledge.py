"""`talktrack bench knowledge`: retrieval recall, answer correctness, abstention and latency on the Backbeam documents.

The agent's documents sit among filler pages (the standard library's documentation, real technical prose) so that
the knowledge base has the size the latency target names (500 pages by default). Every question goes through the
same path a call uses: hybrid search, then the extractive spoken answer or an abstention.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from talktrack.bench.stats import pct, table
from talktrack.calls.agent import bundled_agent_dir
from talktrack.knowledge.answer import Answerer, AnswerResult
from talktrack.knowledge.embedder import default_embedder
from talktrack.knowledge.library import Library, default_url
from talktrack.knowledge.numbers import numbers_in
from talktrack.knowledge.retrieval import KnowledgeBase
from talktrack.settings import Settings

QUESTIONS = Path(__file__).resolve().parent.parent / "data" / "bench" / "knowledge.yaml"
WORDS_PER_PAGE = 400
PAGES_PER_FILE = 10
TARGETS = {"recall_at_3": 0.95, "correctness": 0.90, "abstention": 0.90}
SEARCH_P95_MS = 30.0


@dataclass(frozen=True)
class Question:
    """One benchmark question and what counts as right."""

    text: str
    evidence: tuple[str, ...] = ()
    expect: tuple[tuple[str, ...], ...] = ()
    paraphrase: bool = False

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)


@dataclass
class Outcome:
    """How one question went: ``search_ms`` is the hybrid search alone, ``result.ms`` the whole answer."""

    question: Question
    result: AnswerResult
    search_ms: float = 0.0
    found: bool = False
    correct: bool = False
    invented: list[str] = field(default_factory=list)


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    """The answerable questions, then the unanswerable ones."""
    data = yaml.safe_load(path.read_text())
    out = [
        Question(
            item["q"],
            tuple(item["evidence"]),
            tuple(tuple(str(v) for v in group) for group in item["expect"]),
            bool(item.get("paraphrase", False)),
        )
        for item in data["answerable"]
    ]
    return out + [Question(item["q"]) for item in data["unanswerable"]]


def filler_pages(pages: int) -> Iterator[str]:
    """``pages`` pages of real prose: docstrings of the standard library, in a fixed order."""
    words: list[str] = []
    produced = 0
    for name in sorted(m.name for m in pkgutil.iter_modules() if m.module_finder and _stdlib(m.name)):
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - some modules only import on other platforms
            continue
        for _, obj in sorted(vars(module).items()):
            doc = inspect.getdoc(obj) if callable(obj) or inspect.ismodule(obj) else None
            if not doc:
                continue
            words += doc.split()
            while len(words) >= WORDS_PER_PAGE:
                yield " ".join(words[:WORDS_PER_PAGE])
                words = words[WORDS_PER_PAGE:]
                produced += 1
                if produced >= pages:
                    return


def _stdlib(name: str) -> bool:
    return name in sys.stdlib_module_names and not name.startswith("_") and name not in _NOISY


# Modules that print, open windows or start things when imported.
_NOISY = frozenset({"antigravity", "this", "idlelib", "turtle", "turtledemo", "tkinter", "test", "lib2to3", "pydoc"})


def write_filler(folder: Path, pages: int) -> list[Path]:
    """Filler pages as text files of ``PAGES_PER_FILE`` pages, each page a titled section."""
    files: list[Path] = []
    batch: list[str] = []
    for i, page in enumerate(filler_pages(pages), 1):
        batch.append(f"Reference page {i}\n\n{page}\n")
        if len(batch) == PAGES_PER_FILE:
            files.append(_write(folder, len(files), batch))
            batch = []
    if batch:
        files.append(_write(folder, len(files), batch))
    return files


def _write(folder: Path, index: int, pages: list[str]) -> Path:
    path = folder / f"reference-{index:03d}.txt"
    path.write_text("\n".join(pages))
    return path


def judge(question: Question, result: AnswerResult, corpus_numbers: set[str]) -> Outcome:
    """Whether the evidence was retrieved, the answer is right, and what it stated that no document says."""
    outcome = Outcome(question, result)
    top = [hit.chunk.text.lower() for hit in result.hits[:3]]
    outcome.found = question.answerable and any(
        all(e.lower() in text for e in question.evidence) for text in top
    )
    answer = result.answer.text if result.answer else ""
    if question.answerable and answer:
        outcome.correct = all(any(_says(answer, option) for option in group) for group in question.expect)
    outcome.invented = sorted(numbers_in(answer) - corpus_numbers)
    return outcome


def _says(answer: str, expected: str) -> bool:
    if re.fullmatch(r"[\d.]+", expected):
        return expected in numbers_in(answer)
    return expected.lower() in answer.lower()


def run(pages: int, data_dir: Path, min_similarity: float) -> tuple[list[Outcome], list[Outcome], dict[str, float]]:
    """Ask every question of the agent's documents alone, then of the documents among ``pages`` pages.

    The first is the knowledge base a company uploads; the second is the size the latency target names, with
    real prose around the answers to compete with them.
    """
    facts: dict[str, float] = {"pages": float(pages)}
    docs = sorted((bundled_agent_dir() / "knowledge").iterdir())
    corpus_numbers = numbers_in(" ".join(p.read_text(errors="replace") for p in docs))
    library = Library(default_url(data_dir))
    try:
        own = library.base("bench", "backbeam")
        _ingest(own, docs)
        outcomes = _ask(own, min_similarity, corpus_numbers)
        with tempfile.TemporaryDirectory(prefix="talktrack-kb-") as tmp:
            large = library.base("bench", "backbeam-large")
            started = time.perf_counter()
            _ingest(large, [*docs, *write_filler(Path(tmp), max(0, pages - 3))])
            facts["ingest_s"] = round(time.perf_counter() - started, 1)
        facts["chunks"] = float(sum(info.chunks for info in large.documents()))
        at_scale = _ask(large, min_similarity, corpus_numbers)
    finally:
        library.close()
    return outcomes, at_scale, facts


def _ingest(kb: KnowledgeBase, files: Sequence[Path]) -> None:
    report = kb.add_files(files, progress=len(files) > 3)
    if report.errors:
        raise SystemExit(report.summary())


def _ask(kb: KnowledgeBase, min_similarity: float, corpus_numbers: set[str]) -> list[Outcome]:
    answerer = Answerer(kb, company="Backbeam", min_similarity=min_similarity)
    answerer.answer("Do you have a free trial?")  # the model's first run is slow; calls warm it up the same way
    outcomes = []
    for question in load_questions():
        kb.forget_queries()
        started = time.perf_counter()
        kb.search(question.text, k=3)
        search_ms = (time.perf_counter() - started) * 1000.0
        kb.forget_queries()  # the answer embeds the question again, as a call would
        outcome = judge(question, answerer.answer(question.text), corpus_numbers)
        outcome.search_ms = search_ms
        outcomes.append(outcome)
    return outcomes


def summarize(outcomes: Sequence[Outcome]) -> dict[str, float | int | None]:
    """The benchmark's figures."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    ms = [o.search_ms for o in outcomes]
    answer_ms = [o.result.ms for o in outcomes]
    return {
        "questions": len(outcomes),
        "recall_at_3": round(sum(o.found for o in answerable) / len(answerable), 3),
        "correctness": round(sum(o.correct for o in answerable) / len(answerable), 3),
        "abstention": round(sum(o.result.answer is None for o in unanswerable) / len(unanswerable), 3),
        "invented_facts": sum(len(o.invented) for o in outcomes),
        "p50_ms": pct(ms, 50),
        "p95_ms": pct(ms, 95),
        "answer_p50_ms": pct(answer_ms, 50),
        "answer_p95_ms": pct(answer_ms, 95),
    }


def main(args: argparse.Namespace) -> int:
    """Run the benchmark and print a table, the figures and a final JSON line."""
    settings = Settings()
    data_dir = Path(tempfile.mkdtemp(prefix="talktrack-bench-kb-"))
    default_embedder()
    outcomes, at_scale, facts = run(args.pages, data_dir, settings.knowledge_min_similarity)
    print(_table(outcomes))
    figures = summarize(outcomes)
    large = summarize(at_scale)
    print()
    print(f"the agent's documents: {_line(figures)}")
    print(
        f"among {facts['pages']:.0f} pages ({facts['chunks']:.0f} chunks, ingested in {facts['ingest_s']} s): "
        f"{_line(large)}"
    )
    met = all(float(figures[k] or 0) >= v for k, v in TARGETS.items()) and figures["invented_facts"] == 0
    met = met and float(large["p95_ms"] or 0) <= SEARCH_P95_MS
    result = {
        **{k: figures[k] for k in ("recall_at_3", "correctness", "abstention", "invented_facts")},
        "p95_ms": large["p95_ms"],
        "p50_ms": large["p50_ms"],
        "answer_p95_ms": figures["answer_p95_ms"],
        "at_scale": {k: large[k] for k in ("recall_at_3", "correctness", "abstention", "invented_facts")},
        **facts,
        "targets_met": met,
    }
    line = json.dumps(result)
    print(line)
    if args.json_out:
        args.json_out.write_text(line + "\n")
    return 0 if met else 1


def _line(figures: dict[str, float | int | None]) -> str:
    return (
        f"recall@3 {figures['recall_at_3']:.1%}, correctness {figures['correctness']:.1%}, "
        f"abstention {figures['abstention']:.1%}, invented facts {figures['invented_facts']}; "
        f"search p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms; "
        f"whole answer p50 {figures['answer_p50_ms']} ms, p95 {figures['answer_p95_ms']} ms"
    )


def _table(outcomes: Sequence[Outcome]) -> str:
    rows = []
    for o in outcomes:
        q = o.question
        mark = ("found " if o.found else "MISSED") if q.answerable else "—     "
        if q.answerable:
            verdict = "right" if o.correct else "WRONG"
        else:
            verdict = "abstained" if o.result.answer is None else "ANSWERED"
        said = o.result.answer.text if o.result.answer else f"(abstains: {o.result.reason})"
        rows.append((q.text[:58], mark, verdict, f"{o.result.confidence:.2f}", f"{o.result.ms:.0f}", said[:90]))
    return table(["question", "top 3", "answer", "sim", "answer ms", "said"], rows)
