"""What the knowledge base holds: documents cut into chunks that remember where they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# The kinds of document ingestion understands; the store keeps the kind so searches can filter on it.
KINDS = ("pdf", "docx", "markdown", "html", "text", "transcript")


class IngestError(Exception):
    """A file that cannot be ingested; the message names the file and says what to do."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Chunk:
    """One passage of a document, small enough to quote and to embed.

    ``ordinal`` is the chunk's position in its document; ``headings`` is the path of section titles above it
    (outermost first); ``page`` is 1-based for paged formats and None otherwise.
    """

    ordinal: int
    text: str
    headings: tuple[str, ...] = ()
    page: int | None = None

    @property
    def heading(self) -> str:
        """The heading path as one line: "Security › SOC 2"."""
        return " › ".join(self.headings)


@dataclass(frozen=True)
class Document:
    """A parsed document: its identity within a knowledge base, and its chunks.

    ``source`` is the name the document is known by (the file name as uploaded); re-ingesting the same
    source replaces the old chunks. ``digest`` is the SHA-256 of the file's bytes, so an unchanged file can be
    skipped.
    """

    source: str
    kind: str
    title: str
    digest: str
    chunks: tuple[Chunk, ...]
    meta: dict[str, str] = field(default_factory=dict)


def digest_of(data: bytes) -> str:
    """The SHA-256 hex digest a :class:`Document` carries."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the store returns it: with its document's source, kind and title, and its store id."""

    id: str
    source: str
    kind: str
    title: str
    ordinal: int
    text: str
    headings: tuple[str, ...]
    page: int | None

    @property
    def heading(self) -> str:
        """The heading path as one line."""
        return " › ".join(self.headings)

    @property
    def citation(self) -> str:
        """Where the passage came from, for the call record: "security.pdf p. 3 · Security › SOC 2"."""
        where = self.source + (f" p. {self.page}" if self.page else "")
        return f"{where} · {self.heading}" if self.headings else where
