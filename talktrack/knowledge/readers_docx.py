"""Word (.docx) reading: heading styles give the section path, tables become "cell | cell" lines."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import docx
from docx.opc.exceptions import OpcError
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph as DocxParagraph

from talktrack.knowledge.chunking import Outline, Section, clean
from talktrack.knowledge.documents import IngestError

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.I)


def _outline_level(style: Any) -> int | None:
    """The outline level a custom or translated heading style declares, following its base styles."""
    seen = 0
    while style is not None and seen < 10:
        ppr = style.element.find(qn("w:pPr"))
        level = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
        if level is not None:
            value = int(level.get(qn("w:val")))
            return value + 1 if value < 9 else None  # 9 means "body text"
        style, seen = style.base_style, seen + 1
    return None


def _heading_level(paragraph: DocxParagraph) -> int | None:
    """The heading level of a paragraph (Title is 0, Heading 1 is 1), or None for body text."""
    ppr = paragraph._p.pPr
    direct = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
    if direct is not None:
        value = int(direct.get(qn("w:val")))
        return value + 1 if value < 9 else None
    style = paragraph.style
    name = style.name if style is not None and style.name else ""
    if name.lower() == "title":
        return 0
    if (match := _HEADING_STYLE.match(name)) is not None:
        return int(match.group(1))
    return _outline_level(style)


def _rows(table: Table) -> list[str]:
    """One "cell | cell" line per row; a merged cell is written once."""
    lines = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = clean(cell.text)
            if text:
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return lines


def read_docx(data: bytes, name: str) -> tuple[Section, ...]:
    """Sections of a Word document in reading order, tables included."""
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, OpcError, KeyError, ValueError, SyntaxError) as exc:
        raise IngestError(name, f"not a valid Word .docx file ({exc}); open it in Word and save it as .docx") from exc
    outline = Outline()
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for line in _rows(block):
                outline.paragraph(line)
            continue
        level = _heading_level(block)
        if level is None:
            outline.paragraph(block.text)
        else:
            outline.heading(level, block.text)
    return outline.sections()
