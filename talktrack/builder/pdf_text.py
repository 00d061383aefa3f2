"""Text of a PDF as paragraphs and headings, from pypdf's text runs with their font size and weight."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from talktrack.builder.errors import BuildError

# A line this much larger than the body text, or wholly bold and short, is a heading.
HEADING_SCALE = 1.15
HEADING_MAX_WORDS = 8
# Wrapped lines of one paragraph sit one line pitch apart; a paragraph break adds more.
PARAGRAPH_GAP = 1.25
# A line only wraps on to the next when it nearly fills the text width (in characters, of the longest line).
WRAPPED_FILL = 0.6
_PAGE_NUMBER = re.compile(r"^(page\s*)?\d+(\s*(of|/)\s*\d+)?$", re.I)
# Lines that start a new item even without extra space above them.
_ITEM_START = re.compile(r"^(\d+[.)]\s|[-•*–]\s|[QA]:|[\"“]|(also heard as|short form|response|examples?)\s*:)", re.I)


@dataclass
class _Run:
    x: float
    y: float
    size: float
    bold: bool
    text: str


@dataclass
class TextLine:
    """One printed line: its text, page, position, font size and whether it is set in bold."""

    page: int
    x: float
    y: float
    size: float
    bold: bool
    starts_bold: bool
    text: str


@dataclass
class Paragraph:
    """Wrapped lines joined back into one paragraph; ``heading`` marks section titles."""

    page: int
    text: str
    size: float
    heading: bool = False
    lines: list[TextLine] = field(default_factory=list)


@dataclass(frozen=True)
class ScriptText:
    """A document's text as the builder reads it."""

    source: Path
    paragraphs: tuple[Paragraph, ...]
    body_size: float
    pages: int

    @property
    def plain(self) -> str:
        """The text with headings marked "## ", the form an LLM splitter would take."""
        return "\n".join(("## " if p.heading else "") + p.text for p in self.paragraphs)


def read_pdf_text(path: Path) -> ScriptText:
    """Extract a PDF's paragraphs and headings; BuildError for a missing, corrupt or image-only file."""
    if not path.is_file():
        raise BuildError(f"{path}: script file not found", fix="check the path given to --script")
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise BuildError(f"{path}: the PDF is password-protected", fix="export an unprotected copy of the script")
        pages = [_page_lines(page, number) for number, page in enumerate(reader.pages, 1)]
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BuildError(
            f"{path}: not a readable PDF ({type(exc).__name__}: {exc})",
            fix="re-export the script as PDF, or check that the file is not truncated",
        ) from None
    lines = _drop_running_lines(pages)
    if not lines:
        raise BuildError(
            f"{path}: the PDF has no text layer (a scan or images only)",
            fix="export the script from the original document, or run OCR on it first",
        )
    body = _body_size(lines)
    return ScriptText(path, tuple(_paragraphs(lines, body)), body, len(pages))


def _page_lines(page: Any, number: int) -> list[TextLine]:
    runs: list[_Run] = []

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], font: Any, size: float) -> None:
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]) or 1.0
        name = str(font.get("/BaseFont", "")) if font else ""
        bold = any(mark in name for mark in ("Bold", "Black", "Heavy", "Semibold", ",B"))
        runs.append(_Run(x, y, round(size * scale, 1), bold, text.replace("\n", " ")))

    page.extract_text(visitor_text=visit)
    # Runs on the same baseline (within a fraction of a point) are one printed line.
    by_y: dict[float, list[_Run]] = {}
    for run in runs:
        key = next((y for y in by_y if abs(y - run.y) < 1.5), run.y)
        by_y.setdefault(key, []).append(run)
    lines: list[TextLine] = []
    for y in sorted(by_y, reverse=True):
        parts = by_y[y]
        text = " ".join("".join(r.text for r in parts).split())
        if not text:
            continue
        chars = sum(len(r.text.strip()) for r in parts) or 1
        bold_chars = sum(len(r.text.strip()) for r in parts if r.bold)
        size = max(r.size for r in parts)
        lines.append(TextLine(number, min(r.x for r in parts), y, size, bold_chars == chars, parts[0].bold, text))
    return lines


def _drop_running_lines(pages: list[list[TextLine]]) -> list[TextLine]:
    """Remove page numbers and headers/footers repeated on several pages."""

    def key(line: TextLine) -> str:
        return re.sub(r"\d+", "#", line.text.lower())

    edges = Counter(key(line) for lines in pages for line in {id(x): x for x in lines[:2] + lines[-2:]}.values())
    repeated = {k for k, n in edges.items() if n >= 2 and len(pages) >= 2}
    kept: list[TextLine] = []
    for lines in pages:
        for i, line in enumerate(lines):
            at_edge = i < 2 or i >= len(lines) - 2
            if at_edge and (key(line) in repeated or _PAGE_NUMBER.match(line.text.strip())):
                continue
            kept.append(line)
    return kept


def _body_size(lines: list[TextLine]) -> float:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0]


def _is_heading(line: TextLine, body: float) -> bool:
    words = len(line.text.split())
    if words > HEADING_MAX_WORDS * 2 or line.text.rstrip().endswith((".", ",", ";")):
        return False
    short_bold = line.bold and words <= HEADING_MAX_WORDS and not line.text.endswith(":")
    return line.size >= body * HEADING_SCALE or short_bold


def _paragraphs(lines: list[TextLine], body: float) -> list[Paragraph]:
    pitch = _line_pitch(lines, body)
    full = max(len(line.text) for line in lines)
    out: list[Paragraph] = []
    previous: TextLine | None = None
    for line in lines:
        heading = _is_heading(line, body)
        current = out[-1] if out else None
        if current is not None and previous is not None and not heading and not current.heading:
            if _fills(current.text, previous, line, full) and _continues(previous, line, pitch, body):
                current.text = f"{current.text} {line.text}"
                current.lines.append(line)
                previous = line
                continue
        out.append(Paragraph(line.page, line.text, line.size, heading, [line]))
        previous = line
    return out


def _fills(paragraph: str, previous: TextLine, line: TextLine, full: int) -> bool:
    """True when ``previous`` could have wrapped: long enough, and not a finished sentence before a new one."""
    if len(previous.text) < WRAPPED_FILL * full:
        return False
    open_quote = (paragraph.count('"') + paragraph.count("“") - paragraph.count("”")) % 2 == 1
    finished = previous.text.rstrip().endswith((".", "!", "?", '"', "”")) and line.text[:1].isupper()
    return open_quote or not finished


def _continues(previous: TextLine, line: TextLine, pitch: float, body: float) -> bool:
    """True when ``line`` is the wrapped rest of the paragraph that ``previous`` belongs to."""
    if line.starts_bold and not line.bold or _ITEM_START.match(line.text) or abs(line.size - previous.size) > 0.5:
        return False
    if line.page != previous.page:
        # Across a page break only an unfinished sentence carries on.
        return not previous.text.rstrip().endswith((".", "!", "?", ":", '"', "”")) and line.text[:1].islower()
    if abs(line.x - previous.x) > body * 0.5 and line.x < previous.x:
        return False
    return 0 < previous.y - line.y <= pitch * PARAGRAPH_GAP


def _line_pitch(lines: list[TextLine], body: float) -> float:
    """The most common distance between consecutive body lines on a page: the wrapped-line pitch."""
    gaps: Counter[float] = Counter()
    for a, b in zip(lines, lines[1:], strict=False):
        if a.page == b.page and abs(a.size - body) < 0.5 and abs(b.size - body) < 0.5 and a.y > b.y:
            gaps[round(a.y - b.y, 1)] += 1
    return gaps.most_common(1)[0][0] if gaps else body * 1.4
