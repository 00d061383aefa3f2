"""PDF reading: page text without running headers and footers, re-flowed into headed paragraphs."""

from __future__ import annotations

import io
import logging
import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from talktrack.knowledge.chunking import Outline, Section, clean, split_sentences
from talktrack.knowledge.documents import IngestError

_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.|seite|pag\.?)\s*)?[-–—(\[]?\s*\d{1,4}\s*[-–—)\]]?(?:\s*(?:of|/|von|de)\s*\d{1,4})?$", re.I
)
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+\S")
_BULLET = re.compile(r"^(?:[•▪◦●‣∙·*–-]|\(?[0-9a-z]{1,2}[.)])\s+")
_SMALL_WORDS = frozenset("a an and as at by for from in of on or per the to vs via with & und".split())
_CONNECTORS = _SMALL_WORDS | {"-", "–", ":"}
_SENTENCE_END = (".", "!", "?", ":", ";", '."', ".”", ".)")
_LEADERS = re.compile(r"(?:\s?\.){4,}")  # table-of-contents dot leaders
_EDGE_LINES = 2  # lines at each end of a page that may be running headers or footers


@dataclass(frozen=True)
class _Line:
    text: str
    page: int
    size: float
    bold: bool
    y: float | None
    prose_only: bool = False  # a table-of-contents entry or code, never a heading
    level: int = 0  # heading level; 0 for body text


def read_pdf(data: bytes, name: str) -> tuple[tuple[Section, ...], dict[str, str]]:
    """Sections of a PDF's text with 1-based page numbers, and facts about the file for ``Document.meta``."""
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise IngestError(name, "not a PDF file (it does not start with %PDF-); export it as PDF again")
    meta: dict[str, str] = {}
    # pypdf logs every repair it attempts on a damaged file; the IngestError below says it once, clearly.
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)
    try:
        reader = _open(data, name, meta)
        pages = [_page_lines(page, number, name) for number, page in enumerate(reader.pages, start=1)]
    finally:
        pypdf_log.setLevel(level)
    meta["pages"] = str(len(pages))
    if not any(line.text for lines in pages for line in lines):
        raise IngestError(name, "no text: scanned PDFs need OCR, which talktrack does not do; upload a text PDF")
    lines = _find_headings(_strip_running(pages))
    return _reflow(lines), meta


def _open(data: bytes, name: str, meta: dict[str, str]) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # An empty user password means anyone may open the file and only editing is restricted (a common
            # "protected" export); reading it is what every viewer does. A real user password we cannot know.
            if not reader.decrypt(""):
                raise IngestError(name, "encrypted: remove the password and upload again")
            meta["encrypted"] = "owner password only"
        _ = len(reader.pages)
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise IngestError(name, f"damaged or truncated PDF ({exc}); export or download it again") from exc
    return reader


def _page_lines(page: Any, number: int, name: str) -> list[_Line]:
    """The page's lines in content order, each with its largest font size, boldness and baseline."""
    lines: list[_Line] = []
    parts: list[tuple[str, float, bool, float, bool]] = []

    def close() -> None:
        raw = "".join(p[0] for p in parts)
        text = clean(_LEADERS.sub(" ", raw))
        if text:
            inked = [p for p in parts if p[0].strip()]
            size = max(p[1] for p in inked)
            bold = all(p[2] for p in inked)
            prose_only = _LEADERS.search(raw) is not None or all(p[4] for p in inked)
            lines.append(_Line(text, number, size, bold, inked[0][3], prose_only))
        parts.clear()

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], font: Any, font_size: float) -> None:
        # The rendered size is the font size scaled by the text and page matrices; many PDFs use "1 Tf".
        a, b, c, d, e, f = tm
        m = (
            a * cm[0] + b * cm[2],
            a * cm[1] + b * cm[3],
            c * cm[0] + d * cm[2],
            c * cm[1] + d * cm[3],
            e * cm[0] + f * cm[2] + cm[4],
            e * cm[1] + f * cm[3] + cm[5],
        )
        size = round(font_size * math.hypot(m[2], m[3]), 1)
        base = str(font.get("/BaseFont", "")) if font else ""
        bold = any(w in base for w in ("Bold", "Black", "Heavy", "Semibold", "SemiBold"))
        mono = any(w in base for w in ("Courier", "Mono", "CMTT", "Consol", "Code"))
        for index, piece in enumerate(text.split("\n")):
            if index:
                close()
            if piece:
                parts.append((piece, size, bold, m[5], mono))

    try:
        page.extract_text(visitor_text=visit)
    except Exception as exc:  # pypdf raises many kinds on broken content streams
        reason = f"page {number} cannot be read ({exc}); the file may be damaged, export it again"
        raise IngestError(name, reason) from exc
    close()
    return lines


def _key(line: _Line) -> str:
    """A line with its numbers blanked, so "Page 3" and "Page 4" are the same running footer.

    The type size is part of the key: a title page set in large type is not the small running header that repeats
    its words.
    """
    return f"{round(line.size)}:" + re.sub(r"\d+", "#", line.text.lower())


def _edges(lines: Sequence[_Line]) -> set[int]:
    """Indexes of the lines at the top and bottom of a page, by content order and by position."""
    n = len(lines)
    edge = set(range(min(_EDGE_LINES, n))) | set(range(max(0, n - _EDGE_LINES), n))
    placed = sorted((i for i in range(n) if lines[i].y is not None), key=lambda i: lines[i].y or 0.0)
    edge |= set(placed[:_EDGE_LINES]) | set(placed[-_EDGE_LINES:])
    return edge


def _strip_running(pages: Sequence[Sequence[_Line]]) -> list[_Line]:
    """Drop running headers/footers (edge lines repeated on most pages) and bare page numbers."""
    seen: dict[str, list[float | None]] = {}
    for lines in pages:
        for key, y in {_key(lines[i]): lines[i].y for i in _edges(lines)}.items():
            seen.setdefault(key, []).append(y)
    need = max(2, math.ceil(0.6 * len(pages)))
    # A numbered edge line at the same spot on several pages is a chapter's running header ("Chapter 2: Setup 14"),
    # even when no single chapter spans most of the document.
    running = {key for key, ys in seen.items() if len(ys) >= need or ("#" in key and _same_spot(ys))}
    kept: list[_Line] = []
    for lines in pages:
        edge = _edges(lines)
        for i, line in enumerate(lines):
            if i in edge and (_key(line) in running or _PAGE_NUMBER.match(line.text)):
                continue
            kept.append(line)
    return kept


def _same_spot(ys: Sequence[float | None]) -> bool:
    placed = [y for y in ys if y is not None]
    return len(placed) >= 2 and len(placed) == len(ys) and max(placed) - min(placed) <= 2.0


def _body_size(lines: Sequence[_Line]) -> float:
    """The font size most of the text is set in."""
    weights: Counter[float] = Counter()
    for line in lines:
        weights[round(line.size * 2) / 2] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _looks_like_heading_text(text: str) -> bool:
    """Short, no closing punctuation, and numbered, ALL CAPS or Title Case."""
    words = text.split()
    if not words or len(words) > 12 or len(text) > 90 or not text[0].isalnum():
        return False
    if text.endswith((".", ",", ";", ":", "!", "?", "-")):
        return False
    if _NUMBERED.match(text):
        return True
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return True
    significant = [w for w in words if w.lower() not in _SMALL_WORDS and w[0].isalpha()]
    return bool(significant) and all(w[0].isupper() for w in significant)


def _find_headings(lines: list[_Line]) -> list[_Line]:
    """Mark heading lines: larger type ranks first, then bold or text-shaped lines standing on their own."""
    body = _body_size(lines)
    sizes = sorted(
        {round(line.size * 2) / 2 for line in lines if line.size >= body * 1.15 and _short(line.text)}, reverse=True
    )
    rank = {size: level for level, size in enumerate(sizes, start=1)}
    deepest = len(sizes)
    marked: list[_Line] = []
    for i, line in enumerate(lines):
        level = rank.get(round(line.size * 2) / 2, 0) if _short(line.text) and not line.prose_only else 0
        if (
            not level
            and not line.prose_only
            and _looks_like_heading_text(line.text)
            and _stands_alone(lines, i, marked)
        ):
            if line.bold or _NUMBERED.match(line.text) or line.text.isupper():
                numbered = _NUMBERED.match(line.text)
                level = deepest + (numbered.group(1).count(".") + 1 if numbered else 1)
        if level and marked and marked[-1].level == level and _wraps(marked[-1].text, line.text):
            # A long heading set over two lines is one heading.
            marked[-1] = replace(marked[-1], text=f"{marked[-1].text} {line.text}")
            continue
        marked.append(replace(line, level=level))
    return marked


def _short(text: str) -> bool:
    return len(text.split()) <= 15 and not text.endswith(".")


def _wraps(first: str, second: str) -> bool:
    return second[:1].islower() or first.split()[-1].lower() in _CONNECTORS


def _stands_alone(lines: Sequence[_Line], i: int, marked: Sequence[_Line]) -> bool:
    """A heading ends whatever came before it and is followed by text that starts a sentence."""
    prev_ok = i == 0 or lines[i - 1].page != lines[i].page or bool(marked and marked[-1].level)
    prev_ok = prev_ok or lines[i - 1].text.endswith(_SENTENCE_END)
    nxt = lines[i + 1].text if i + 1 < len(lines) else ""
    return prev_ok and bool(nxt) and (nxt[0].isupper() or nxt[0].isdigit() or bool(_BULLET.match(nxt)))


class _Flow:
    """Decides where paragraphs break, from line gaps, short closing lines and page turns."""

    def __init__(self, lines: Sequence[_Line]) -> None:
        gaps = [
            a.y - b.y
            for a, b in zip(lines, lines[1:], strict=False)
            if a.page == b.page and not a.level and not b.level and a.y is not None and b.y is not None
        ]
        positive = [g for g in gaps if g > 0]
        self.spacing = statistics.median(positive) if positive else None
        lengths = [len(line.text) for line in lines if not line.level and len(line.text.split()) >= 5]
        self.width = statistics.median(lengths) if lengths else 0.0

    def continues(self, prev: _Line, line: _Line) -> bool:
        """Whether ``line`` carries on the paragraph ``prev`` belongs to."""
        ended = prev.text.endswith(_SENTENCE_END)
        if line.page != prev.page:
            return not ended and (line.text[0].islower() or prev.text.endswith("-"))
        if _BULLET.match(line.text):
            return False
        if self.spacing and prev.y is not None and line.y is not None and prev.y - line.y > 1.45 * self.spacing:
            return False
        return not (ended and len(prev.text) < 0.8 * self.width)


def _vocabulary(lines: Sequence[_Line]) -> set[str]:
    return {w.strip(".,;:()[]\"'!?").lower() for line in lines for w in line.text.split()}


def _join(text: str, nxt: str, vocabulary: set[str]) -> str:
    """Join two lines, mending a word hyphenated across the break ("encryp-" + "tion")."""
    if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and nxt[:1].islower():
        head = text.rsplit(None, 1)[-1][:-1].lower()
        tail = nxt.split(None, 1)[0].strip(".,;:()[]\"'!?").lower()
        # Keep the hyphen of a real compound ("self-hosted") the document spells that way elsewhere.
        if f"{head}-{tail}" in vocabulary and f"{head}{tail}" not in vocabulary:
            return text + nxt
        return text[:-1] + nxt
    return f"{text} {nxt}"


def _add(outline: Outline, text: str, turns: list[tuple[int, int]]) -> None:
    """Add a paragraph; one that runs onto later pages is cut at sentence ends so each part keeps its page."""
    if not text:
        return
    if len(turns) == 1:
        outline.paragraph(text, turns[0][1])
        return
    at = 0
    parts: list[tuple[str, int]] = []
    for sentence in split_sentences(text):
        at = text.find(sentence, at)
        page = next(p for offset, p in reversed(turns) if offset <= at)
        if parts and parts[-1][1] == page:
            parts[-1] = (f"{parts[-1][0]} {sentence}", page)
        else:
            parts.append((sentence, page))
        at += len(sentence)
    for part, page in parts:
        outline.paragraph(part, page)


def _reflow(lines: Sequence[_Line]) -> tuple[Section, ...]:
    outline = Outline()
    flow = _Flow(lines)
    vocabulary = _vocabulary(lines)
    text, prev = "", None
    turns: list[tuple[int, int]] = []  # (offset in text, page) where the paragraph starts and turns each page
    for line in lines:
        if line.level:
            _add(outline, text, turns)
            text, prev = "", None
            outline.heading(line.level, line.text)
            continue
        if prev is not None and flow.continues(prev, line):
            if line.page != prev.page:
                turns.append((len(text), line.page))
            text = _join(text, line.text, vocabulary)
        else:
            _add(outline, text, turns)
            text, turns = line.text, [(0, line.page)]
        prev = line
    _add(outline, text, turns)
    return outline.sections()
