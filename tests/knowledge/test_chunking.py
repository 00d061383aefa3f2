"""Section-aware chunking: word limits, section boundaries, sentence overlap, pages and transcript windows."""

from __future__ import annotations

import pytest

from talktrack.knowledge.chunking import (
    Outline,
    Paragraph,
    Section,
    Turn,
    chunk_sections,
    chunk_turns,
    clean,
    split_sentences,
    word_count,
)


def _sentences(topic: str, count: int) -> list[str]:
    return [f"The {topic} fact number {n} is stated here in plain words." for n in range(count)]


def _section(headings: tuple[str, ...], *paragraphs: list[str], page: int | None = None) -> Section:
    return Section(headings, tuple(Paragraph(" ".join(p), page) for p in paragraphs))


def test_paragraphs_pack_up_to_the_word_limit() -> None:
    section = _section(("Guide",), *[_sentences("guide", 2) for _ in range(10)])
    chunks = chunk_sections([section], chunk_words=60, overlap_sentences=0)
    assert len(chunks) > 1
    assert all(word_count(c.text) <= 60 for c in chunks)
    # Nothing is lost or repeated without overlap.
    assert " ".join(c.text for c in chunks) == " ".join(p.text for p in section.paragraphs)


def test_chunks_never_cross_a_section() -> None:
    sections = [
        _section(("Security",), _sentences("security", 9), _sentences("security", 4)),
        _section(("Security", "SOC 2"), _sentences("audit", 3)),
        _section(("Pricing",), _sentences("pricing", 12)),
    ]
    chunks = chunk_sections(sections, chunk_words=50)
    topics = {("Security",): "security", ("Security", "SOC 2"): "audit", ("Pricing",): "pricing"}
    for chunk in chunks:
        sentences = split_sentences(chunk.text)
        assert all(f"The {topics[chunk.headings]} fact" in s for s in sentences)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_consecutive_chunks_of_a_section_overlap_by_a_sentence() -> None:
    sections = [_section(("A",), _sentences("alpha", 20)), _section(("B",), _sentences("beta", 20))]
    chunks = chunk_sections(sections, chunk_words=45, overlap_sentences=1)
    for before, after in zip(chunks, chunks[1:], strict=False):
        last = split_sentences(before.text)[-1]
        if before.headings == after.headings:
            assert after.text.startswith(last)
        else:
            assert last not in after.text


def test_long_paragraph_splits_at_sentence_ends() -> None:
    paragraph = " ".join(_sentences("long", 30))
    chunks = chunk_sections([_section(("Long",), [paragraph])], chunk_words=40, overlap_sentences=0)
    assert len(chunks) >= 7
    assert all(c.text.endswith(".") and c.text.startswith("The long fact") for c in chunks)


def test_run_on_sentence_is_cut_at_words() -> None:
    run_on = " ".join(f"word{n}" for n in range(250))
    chunks = chunk_sections([_section(("Table",), [run_on])], chunk_words=100, overlap_sentences=0)
    assert [word_count(c.text) for c in chunks] == [100, 100, 50]


def test_tiny_section_is_still_a_chunk() -> None:
    sections = [_section(("Contact",), ["Call us."]), _section(("Hours",), _sentences("hours", 3))]
    chunks = chunk_sections(sections)
    assert chunks[0].text == "Call us."
    assert chunks[0].headings == ("Contact",)


def test_empty_sections_make_no_chunks() -> None:
    assert chunk_sections([Section(("Only a heading",), ())]) == ()


def test_chunk_page_is_where_it_starts() -> None:
    section = Section(
        ("Doc",),
        (
            Paragraph(" ".join(_sentences("first", 5)), 1),
            Paragraph(" ".join(_sentences("second", 5)), 2),
            Paragraph(" ".join(_sentences("third", 5)), 4),
        ),
    )
    # Each paragraph is 55 words: one fits a chunk, two do not.
    chunks = chunk_sections([section], chunk_words=60, overlap_sentences=0)
    assert [(c.page, c.text.split()[1]) for c in chunks] == [(1, "first"), (2, "second"), (4, "third")]


def test_ordinals_continue_from_start() -> None:
    chunks = chunk_sections([_section(("X",), _sentences("x", 30))], chunk_words=40, start=5)
    assert chunks[0].ordinal == 5


def test_word_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_words"):
        chunk_sections([], chunk_words=0)


def test_sentences_keep_abbreviations() -> None:
    text = "Data stays in the EU, e.g. in Frankfurt. Dr. Kim signs the DPA. Ask the U.S. team! Done?"
    assert split_sentences(text) == [
        "Data stays in the EU, e.g. in Frankfurt.",
        "Dr. Kim signs the DPA.",
        "Ask the U.S. team!",
        "Done?",
    ]


def test_clean_folds_ligatures_and_invisible_characters() -> None:
    assert (
        clean("  the \ufb01rewall\u00a0is con\u00adfigured\u200b\n\tcorrectly ")
        == "the firewall is configured correctly"
    )


def test_outline_builds_heading_paths() -> None:
    outline = Outline()
    outline.paragraph("Preface text.")
    outline.heading(1, "Security:")
    outline.heading(2, "  Encryption ")
    outline.paragraph("Encrypted.", page=3)
    outline.heading(2, "Audits")
    outline.paragraph("Audited.")
    outline.heading(1, "Pricing")
    sections = outline.sections()
    assert [(s.headings, [p.text for p in s.paragraphs]) for s in sections] == [
        ((), ["Preface text."]),
        (("Security",), []),
        (("Security", "Encryption"), ["Encrypted."]),
        (("Security", "Audits"), ["Audited."]),
        (("Pricing",), []),
    ]
    assert sections[2].page == 3


def test_transcript_windows_keep_speakers_and_overlap() -> None:
    turns = [Turn("Agent" if n % 2 else "Prospect", f"turn {n} words") for n in range(10)]
    chunks = chunk_turns(turns, turns_per_chunk=4, overlap_turns=1)
    windows = [c.text.splitlines() for c in chunks]
    assert windows[0] == [
        "Prospect: turn 0 words",
        "Agent: turn 1 words",
        "Prospect: turn 2 words",
        "Agent: turn 3 words",
    ]
    assert all(len(w) <= 4 for w in windows)
    for before, after in zip(windows, windows[1:], strict=False):
        assert after[0] == before[-1]
    assert windows[-1][-1] == "Agent: turn 9 words"


def test_transcript_window_respects_the_word_limit() -> None:
    turns = [Turn("Agent", " ".join(["talk"] * 50)) for _ in range(4)]
    chunks = chunk_turns(turns, turns_per_chunk=4, chunk_words=120, overlap_turns=0)
    assert [len(c.text.splitlines()) for c in chunks] == [2, 2]
