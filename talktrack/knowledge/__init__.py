"""Knowledge bases: documents in, grounded spoken answers out.

Ingestion (:mod:`ingest`) turns PDF, DOCX, Markdown, HTML, text and call transcripts into chunks; the MiniLM
embedder (:mod:`embedder`, numpy only) and a store (:mod:`sqlite_store` embedded, :mod:`pg_store` scale-out)
keep them per tenant; :class:`KnowledgeBase` searches them with full-text and dense rankings fused, and
:class:`Answerer` says one or two sentences from the best passage or abstains.
"""

from talktrack.knowledge.answer import Answerer, AnswerResult, SpokenAnswer
from talktrack.knowledge.documents import Chunk, Document, IngestError, StoredChunk
from talktrack.knowledge.embedder import EmbedderError, MiniLmEmbedder, default_embedder
from talktrack.knowledge.ingest import SUPPORTED_SUFFIXES, read_document, read_documents
from talktrack.knowledge.library import Library, default_url
from talktrack.knowledge.retrieval import Hit, IngestReport, KnowledgeBase
from talktrack.knowledge.store import DocumentInfo, Filters, KnowledgeStore, StoreError, open_store

__all__ = [
    "SUPPORTED_SUFFIXES",
    "AnswerResult",
    "Answerer",
    "Chunk",
    "Document",
    "DocumentInfo",
    "EmbedderError",
    "Filters",
    "Hit",
    "IngestError",
    "IngestReport",
    "KnowledgeBase",
    "KnowledgeStore",
    "Library",
    "MiniLmEmbedder",
    "SpokenAnswer",
    "StoreError",
    "StoredChunk",
    "default_embedder",
    "default_url",
    "open_store",
    "read_document",
    "read_documents",
]
