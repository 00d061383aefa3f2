"""Ingestion: files in, chunked :class:`Document` objects out, with one clear error per file that cannot be read."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from talktrack.knowledge.chunking import Section, Turn, chunk_sections, chunk_turns
from talktrack.knowledge.documents import Document, IngestError, digest_of
from talktrack.knowledge.readers_docx import read_docx
from talktrack.knowledge.readers_markup import read_html, read_markdown
from talktrack.knowledge.readers_pdf import read_pdf
from talktrack.knowledge.readers_text import decode, jsonl_turns, read_plain, transcript_turns

__all__ = ["SUPPORTED_SUFFIXES", "read_document", "read_documents"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 25_000_000

# Formats people try that we do not read, and what to do instead.
_HINTS = {
    ".doc": "save it as .docx",
    ".rtf": "save it as .docx",
    ".odt": "save it as .docx",
    ".pages": "export it as .docx or PDF",
    ".pptx": "export it as PDF",
    ".ppt": "export it as PDF",
    ".xlsx": "export the sheet as HTML or PDF",
    ".csv": "export it as HTML or PDF",
}


@dataclass(frozen=True)
class _Parsed:
    """What a reader found: prose sections or transcript turns, and facts about the file."""

    kind: str
    sections: tuple[Section, ...] = ()
    turns: tuple[Turn, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)


def _pdf(data: bytes, name: str) -> _Parsed:
    sections, meta = read_pdf(data, name)
    return _Parsed("pdf", sections, meta=meta)


def _docx(data: bytes, name: str) -> _Parsed:
    return _Parsed("docx", read_docx(data, name))


def _markdown(data: bytes, name: str) -> _Parsed:
    return _Parsed("markdown", read_markdown(decode(data, name)))


def _html(data: bytes, name: str) -> _Parsed:
    return _Parsed("html", read_html(decode(data, name)))


def _text(data: bytes, name: str) -> _Parsed:
    text = decode(data, name)
    turns = transcript_turns(text)
    if turns is not None:
        return _Parsed("transcript", turns=tuple(turns))
    return _Parsed("text", read_plain(text))


def _jsonl(data: bytes, name: str) -> _Parsed:
    return _Parsed("transcript", turns=tuple(jsonl_turns(decode(data, name), name)))


_READERS: dict[str, Callable[[bytes, str], _Parsed]] = {
    ".pdf": _pdf,
    ".docx": _docx,
    ".md": _markdown,
    ".markdown": _markdown,
    ".html": _html,
    ".htm": _html,
    ".txt": _text,
    ".jsonl": _jsonl,
}

SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_READERS)


def _size(count: int) -> str:
    """A byte count the way people say it: "26.2 MB", "800 bytes"."""
    if count < 100_000:
        return f"{count:,} bytes"
    return f"{count / 1_000_000:.1f}".removesuffix(".0") + " MB"


def _reader(path: Path, name: str) -> Callable[[bytes, str], _Parsed]:
    # An upload may sit in a temporary file; the name it was uploaded under still says what it is.
    for suffix in (path.suffix.lower(), Path(name).suffix.lower()):
        if suffix in _READERS:
            return _READERS[suffix]
    suffix = path.suffix.lower() or Path(name).suffix.lower()
    hint = f"; {_HINTS[suffix]}" if suffix in _HINTS else ""
    what = f'"{suffix}" files are' if suffix else "files without a suffix are"
    raise IngestError(name, f"{what} not supported (supported: {', '.join(SUPPORTED_SUFFIXES)}){hint}")


def _load(path: Path, name: str, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(name, f"{_size(size)} is over the {_size(max_bytes)} limit; split the document")
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise IngestError(name, "file not found; check the path") from exc
    except PermissionError as exc:
        raise IngestError(name, "permission denied; make the file readable") from exc
    except OSError as exc:
        raise IngestError(name, f"cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise IngestError(name, "empty file: there is nothing to ingest")
    return data


def read_document(
    path: Path, *, source: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES, chunk_words: int = 120
) -> Document:
    """Read, clean and chunk one file; raises :class:`IngestError` naming the file on any problem."""
    path = Path(path)
    name = source or path.name
    if path.is_dir():
        raise IngestError(name, "is a folder, not a file; pick the files inside it")
    reader = _reader(path, name)
    data = _load(path, name, max_bytes)
    try:
        parsed = reader(data, name)
    except IngestError:
        raise
    except Exception as exc:  # a parser library failing on a malformed file must not end a batch
        log.warning("ingest: %s failed to parse", name, exc_info=True)
        raise IngestError(name, f"cannot be read ({type(exc).__name__}: {exc}); the file may be damaged") from exc
    if parsed.turns:
        chunks = chunk_turns(parsed.turns, chunk_words=chunk_words)
        title = Path(name).stem
    else:
        chunks = chunk_sections(parsed.sections, chunk_words=chunk_words)
        title = next((s.headings[0] for s in parsed.sections if s.headings), Path(name).stem)
    if not chunks:
        raise IngestError(name, f"no text found in this {parsed.kind} file; there is nothing to ingest")
    return Document(name, parsed.kind, title, digest_of(data), chunks, dict(parsed.meta))


def read_documents(
    paths: Sequence[Path], *, progress: bool = False, max_bytes: int = DEFAULT_MAX_BYTES, chunk_words: int = 120
) -> Iterator[Document | IngestError]:
    """Read many files in order, yielding each document or the error that file raised; one bad file never stops
    the batch. ``progress`` shows a bar on stderr when there are more than three files."""
    with tqdm(
        total=len(paths), file=sys.stderr, unit="file", desc="ingest", disable=not (progress and len(paths) > 3)
    ) as bar:
        for path in paths:
            try:
                yield read_document(path, max_bytes=max_bytes, chunk_words=chunk_words)
            except IngestError as error:
                yield error
            bar.update()
