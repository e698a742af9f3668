"""Documents in watched folders, parsed, chunked, embedded and searchable with citations."""

from __future__ import annotations

from assistant.knowledge.chunking import Chunk, chunk_document
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.files import FileRules
from assistant.knowledge.indexer import (
    EmbedderChangedError,
    Indexer,
    Progress,
    ProgressCallback,
    SyncReport,
)
from assistant.knowledge.parsers import ParsedDocument, Section, Skipped, parser_for
from assistant.knowledge.search import SearchResult, search_knowledge
from assistant.knowledge.watcher import FolderWatcher

__all__ = [
    "Chunk",
    "Embedder",
    "EmbedderChangedError",
    "FileRules",
    "FolderWatcher",
    "Indexer",
    "ParsedDocument",
    "Progress",
    "ProgressCallback",
    "SearchResult",
    "Section",
    "Skipped",
    "SyncReport",
    "chunk_document",
    "parser_for",
    "search_knowledge",
]
