"""The application core's public surface: everything a front end (GUI, CLI) may use.

Front ends import from here and nothing below it; an import-linter contract keeps the GUI away
from llama.cpp, LanceDB, torch, the store and the indexer. Names load on first use (PEP 562), so
``from assistant.core import Loremind`` stays cheap: the GUI shows its window before llama.cpp,
LanceDB or torch are imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.chat.assistant import AskOptions
    from assistant.chat.conversations import ChatMessage, ChatSession, SessionHit
    from assistant.chat.events import (
        AnswerStats,
        Citation,
        Done,
        Event,
        Failed,
        MemoriesUsed,
        MemoryProposed,
        Notice,
        Sources,
        Token,
    )
    from assistant.chat.rendering import (
        Block,
        answer_stats_line,
        citation_number,
        link_citations,
        openable_source,
        source_location,
        source_title,
        split_blocks,
    )
    from assistant.core.app import Loremind
    from assistant.core.changes import Area, Change, ChangeFeed
    from assistant.engine.adapter_files import AdapterInfo
    from assistant.engine.model import SamplingParams
    from assistant.knowledge.indexer import Progress, SyncReport
    from assistant.knowledge.overview import FolderOverview
    from assistant.knowledge.search import SearchResult
    from assistant.memory.book import Memory, MemoryEvent
    from assistant.statuses import DocumentStatus, FinishReason, MemoryStatus

_HOMES = {
    "Loremind": "assistant.core.app",
    "Area": "assistant.core.changes",
    "Change": "assistant.core.changes",
    "ChangeFeed": "assistant.core.changes",
    "AskOptions": "assistant.chat.assistant",
    "ChatMessage": "assistant.chat.conversations",
    "ChatSession": "assistant.chat.conversations",
    "SessionHit": "assistant.chat.conversations",
    "AnswerStats": "assistant.chat.events",
    "Citation": "assistant.chat.events",
    "Done": "assistant.chat.events",
    "Event": "assistant.chat.events",
    "Failed": "assistant.chat.events",
    "MemoriesUsed": "assistant.chat.events",
    "MemoryProposed": "assistant.chat.events",
    "Notice": "assistant.chat.events",
    "Sources": "assistant.chat.events",
    "Token": "assistant.chat.events",
    "Block": "assistant.chat.rendering",
    "answer_stats_line": "assistant.chat.rendering",
    "citation_number": "assistant.chat.rendering",
    "link_citations": "assistant.chat.rendering",
    "openable_source": "assistant.chat.rendering",
    "source_location": "assistant.chat.rendering",
    "source_title": "assistant.chat.rendering",
    "split_blocks": "assistant.chat.rendering",
    "AdapterInfo": "assistant.engine.adapter_files",
    "SamplingParams": "assistant.engine.model",
    "Progress": "assistant.knowledge.indexer",
    "SyncReport": "assistant.knowledge.indexer",
    "FolderOverview": "assistant.knowledge.overview",
    "SearchResult": "assistant.knowledge.search",
    "Memory": "assistant.memory.book",
    "MemoryEvent": "assistant.memory.book",
    "DocumentStatus": "assistant.statuses",
    "FinishReason": "assistant.statuses",
    "MemoryStatus": "assistant.statuses",
}

__all__ = [
    "AdapterInfo",
    "AnswerStats",
    "Area",
    "AskOptions",
    "Block",
    "Change",
    "ChangeFeed",
    "ChatMessage",
    "ChatSession",
    "Citation",
    "DocumentStatus",
    "Done",
    "Event",
    "Failed",
    "FinishReason",
    "FolderOverview",
    "Loremind",
    "MemoriesUsed",
    "Memory",
    "MemoryEvent",
    "MemoryProposed",
    "MemoryStatus",
    "Notice",
    "Progress",
    "SamplingParams",
    "SearchResult",
    "SessionHit",
    "Sources",
    "SyncReport",
    "Token",
    "answer_stats_line",
    "citation_number",
    "link_citations",
    "openable_source",
    "source_location",
    "source_title",
    "split_blocks",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'assistant.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
