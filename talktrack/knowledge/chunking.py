"""Section-aware chunking: headed sections of paragraphs in, overlapping word-bounded chunks out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from talktrack.knowledge.documents import Chunk

# Characters PDF and word-processor exports leave behind that are not prose: ligatures, soft hyphens, zero-width
# marks, odd spaces. Folding them keeps lexical search and embeddings from seeing "ﬁrewall" as a new word.
_FOLD = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
        "\u00ad": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)

# Words that end in a period without ending a sentence; splitting after them would cut "e.g. the EU" in two.
_ABBREVIATIONS = frozenset(
    "e.g i.e etc vs approx incl no nr mr mrs ms dr prof inc ltd co corp jr sr st fig al cf ca dept est".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of clean text and the 1-based page it starts on (None for unpaged formats)."""

    text: str
    page: int | None = None


@dataclass(frozen=True)
class Section:
    """The paragraphs under one heading path (outermost heading first)."""

    headings: tuple[str, ...]
    paragraphs: tuple[Paragraph, ...]

    @property
    def page(self) -> int | None:
        """The page the section starts on."""
        return self.paragraphs[0].page if self.paragraphs else None


@dataclass(frozen=True)
class Turn:
    """One turn of a call transcript: who spoke ("Agent", "Prospect", a name) and what they said."""

    speaker: str
    text: str


def clean(text: str) -> str:
    """Fold ligatures and invisible characters and collapse all whitespace to single spaces."""
    return " ".join(text.translate(_FOLD).split())


def word_count(text: str) -> int:
    """Words as whitespace-separated tokens, the unit chunk sizes are measured in."""
    return len(text.split())


def split_sentences(text: str) -> list[str]:
    """Split clean prose at sentence ends, keeping abbreviations such as "e.g." inside their sentence."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].rsplit(None, 1)
        last_word = before[-1].rstrip(".\"')]").lower() if before else ""
        # "U.S." and single initials ("J. Smith") are abbreviations too.
        if last_word in _ABBREVIATIONS or len(last_word) == 1 or "." in last_word:
            continue
        sentences.append(text[start : match.start()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


class Outline:
    """Collects headings and paragraphs in reading order and hands back sections; readers share it."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []
        self._paragraphs: list[Paragraph] = []
        self._sections: list[Section] = []

    def heading(self, level: int, text: str) -> None:
        """Start a section under ``text``; headings at ``level`` or deeper close."""
        text = clean(text).rstrip(":").strip()
        if not text:
            return
        self._flush()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))
        # An empty section still records that the heading exists, so the title can come from it.
        self._sections.append(Section(self.path, ()))

    def paragraph(self, text: str, page: int | None = None) -> None:
        """Add a paragraph to the current section; blank text is ignored."""
        text = clean(text)
        if text:
            self._paragraphs.append(Paragraph(text, page))

    @property
    def path(self) -> tuple[str, ...]:
        """The current heading path."""
        return tuple(text for _, text in self._stack)

    def sections(self) -> tuple[Section, ...]:
        """All sections so far, empty ones included."""
        self._flush()
        return tuple(self._sections)

    def _flush(self) -> None:
        if self._paragraphs:
            path = self.path
            if self._sections and self._sections[-1].headings == path and not self._sections[-1].paragraphs:
                self._sections.pop()
            self._sections.append(Section(path, tuple(self._paragraphs)))
            self._paragraphs = []


@dataclass(frozen=True)
class _Piece:
    """A unit the packer moves whole: a paragraph, or one sentence of a paragraph too long to move whole."""

    text: str
    page: int | None
    words: int


def _pieces(paragraph: Paragraph, limit: int) -> Iterable[_Piece]:
    words = word_count(paragraph.text)
    if words <= limit:
        yield _Piece(paragraph.text, paragraph.page, words)
        return
    for sentence in split_sentences(paragraph.text):
        tokens = sentence.split()
        # A "sentence" longer than a chunk (a table row run, a list without stops) is cut at word boundaries.
        for at in range(0, len(tokens), limit):
            part = tokens[at : at + limit]
            yield _Piece(" ".join(part), paragraph.page, len(part))


def _tail_sentences(pieces: Sequence[_Piece], count: int) -> list[_Piece]:
    """The last ``count`` sentences of a chunk, as pieces, to repeat at the start of the next one."""
    if count <= 0 or not pieces:
        return []
    last = pieces[-1]
    sentences = split_sentences(last.text)[-count:]
    return [_Piece(s, last.page, word_count(s)) for s in sentences]


def chunk_sections(
    sections: Iterable[Section], *, chunk_words: int = 120, overlap_sentences: int = 1, start: int = 0
) -> tuple[Chunk, ...]:
    """Pack each section's paragraphs into chunks of about ``chunk_words`` words that never cross a section.

    Consecutive chunks of one section share the previous chunk's last ``overlap_sentences`` sentences; a chunk's
    page is the page its first words come from.
    """
    if chunk_words < 1:
        raise ValueError(f"chunk_words must be at least 1, not {chunk_words}")
    chunks: list[Chunk] = []

    def emit(pieces: list[_Piece], headings: tuple[str, ...]) -> None:
        text = " ".join(p.text for p in pieces)
        chunks.append(Chunk(start + len(chunks), text, headings, pieces[0].page))

    for section in sections:
        current: list[_Piece] = []
        fresh = 0  # pieces in ``current`` that are not overlap from the previous chunk
        size = 0
        for paragraph in section.paragraphs:
            for piece in _pieces(paragraph, chunk_words):
                if fresh and size + piece.words > chunk_words:
                    emit(current, section.headings)
                    # The overlap may carry a chunk past the limit by a sentence; context beats a tidy count.
                    current = _tail_sentences(current, overlap_sentences)
                    size, fresh = sum(p.words for p in current), 0
                current.append(piece)
                size += piece.words
                fresh += 1
        if fresh:
            emit(current, section.headings)
    return tuple(chunks)


def chunk_turns(
    turns: Sequence[Turn], *, turns_per_chunk: int = 4, chunk_words: int = 120, overlap_turns: int = 1, start: int = 0
) -> tuple[Chunk, ...]:
    """Cut a transcript into windows of a few consecutive turns, each line keeping its speaker label."""
    if turns_per_chunk < 1 or overlap_turns >= turns_per_chunk:
        raise ValueError("turns_per_chunk must be at least 1 and larger than overlap_turns")
    lines = [f"{t.speaker}: {clean(t.text)}" for t in turns if clean(t.text)]
    chunks: list[Chunk] = []
    at = 0
    while at < len(lines):
        end, words = at, 0
        while end < len(lines) and end - at < turns_per_chunk:
            words += word_count(lines[end])
            if end > at and words > chunk_words:
                break
            end += 1
        chunks.append(Chunk(start + len(chunks), "\n".join(lines[at:end]), (), None))
        if end >= len(lines):
            break
        # Step back by the overlap, but always move forward by at least one turn.
        at = max(end - overlap_turns, at + 1)
    return tuple(chunks)
