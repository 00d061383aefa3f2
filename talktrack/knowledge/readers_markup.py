"""Markdown and HTML reading: headings give the section path, markup is stripped to prose."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from talktrack.knowledge.chunking import Outline, Section, clean

_ATX = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_FENCE = re.compile(r"^(`{3,}|~{3,})")
_RULE = re.compile(r"^(?:\*\s*){3,}$|^(?:-\s*){3,}$|^(?:_\s*){3,}$")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_INLINE = (
    (re.compile(r"<!--.*?-->"), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images keep their alt text
    (re.compile(r"\[\^[^\]]+\]"), ""),  # footnote markers
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),
)


def strip_inline(text: str) -> str:
    """Markdown inline markup removed: links and images keep their text, emphasis and code lose their marks."""
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return clean(text)


def _table_row(line: str) -> str:
    cells = [strip_inline(cell) for cell in line.strip().strip("|").split("|")]
    return " | ".join(cell for cell in cells if cell)


def read_markdown(text: str) -> tuple[Section, ...]:
    """Sections of a Markdown document along its ``#`` (and underlined) headings."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":  # YAML front matter is metadata, not prose
        end = next((i for i, line in enumerate(lines[1:], start=1) if line.strip() in ("---", "...")), None)
        lines = lines[end + 1 :] if end else lines
    outline = Outline()
    paragraph: list[str] = []
    code: list[str] = []
    fence = ""

    def flush() -> None:
        outline.paragraph(strip_inline(" ".join(paragraph)))
        paragraph.clear()

    for raw in lines:
        line = raw.strip()
        if fence:
            if line.startswith(fence):
                outline.paragraph(" ".join(code))  # code is kept as text, not stripped of its characters
                code.clear()
                fence = ""
            else:
                code.append(line)
            continue
        while line.startswith(">"):
            line = line[1:].strip()
        if (match := _FENCE.match(line)) is not None:
            flush()
            fence = match.group(1)
        elif (match := _ATX.match(line)) is not None:
            flush()
            outline.heading(len(match.group(1)), strip_inline(match.group(2)))
        elif _SETEXT.match(line) and paragraph:
            title = strip_inline(" ".join(paragraph))
            paragraph.clear()
            outline.heading(1 if line.startswith("=") else 2, title)
        elif not line or _RULE.match(line) or _TABLE_RULE.match(line) or _REFERENCE.match(line):
            flush()
        elif line.startswith("|"):
            flush()
            outline.paragraph(_table_row(line))
        elif (match := _LIST_ITEM.match(line)) is not None:
            flush()
            paragraph.append(line[match.end() :])
        else:
            paragraph.append(line)
    if fence:
        outline.paragraph(" ".join(code))
    flush()
    return outline.sections()


_SKIP = frozenset({"script", "style", "nav", "footer", "head", "noscript", "template", "svg", "iframe", "button"})
_BLOCKS = frozenset(
    "p div li dd dt blockquote pre section article main aside header ul ol dl table thead tbody tfoot caption "
    "figure figcaption address hr br form fieldset legend details summary".split()
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


class _HtmlOutline(HTMLParser):
    """Walks the tag stream once, sending headings, block text and table rows to an :class:`Outline`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.outline = Outline()
        self._skip = 0
        self._text: list[str] = []
        self._heading = 0
        self._row: list[list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        if tag in _HEADINGS:
            self._flush()
            self._heading = _HEADINGS[tag]
        elif tag == "tr":
            self._end_row()
            self._flush()
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._row.append([])
        elif tag in _BLOCKS and self._row is None and not self._heading:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        if tag in _HEADINGS and self._heading:
            self.outline.heading(self._heading, "".join(self._text))
            self._text.clear()
            self._heading = 0
        elif tag in ("tr", "table"):
            self._end_row()
        elif tag in _BLOCKS and self._row is None and not self._heading:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._row is not None and not self._heading:
            if not self._row:
                self._row.append([])
            self._row[-1].append(data)
        else:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._end_row()
        self._flush()

    def _flush(self) -> None:
        self.outline.paragraph("".join(self._text))
        self._text.clear()

    def _end_row(self) -> None:
        if self._row is not None:
            cells = [clean(" ".join(cell)) for cell in self._row]
            self.outline.paragraph(" | ".join(cell for cell in cells if cell))
            self._row = None


def read_html(text: str) -> tuple[Section, ...]:
    """Sections of an HTML page along h1–h6, without scripts, styles, navigation and footers."""
    parser = _HtmlOutline()
    parser.feed(text)
    parser.close()
    return parser.outline.sections()
