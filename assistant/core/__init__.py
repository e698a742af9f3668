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
    from assistant.adapter_reasons import plain_reason
    from assistant.chat.answering import AskOptions
    from assistant.chat.chat_settings import ChatSettings, KnowledgeScope
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
        event_to_json,
    )
    from assistant.chat.export import chat_to_json
    from assistant.chat.rendering import (
        Block,
        answer_stats_line,
        citation_number,
        keep_line_breaks,
        link_citations,
        openable_source,
        snippet_preview,
        source_location,
        source_title,
        split_blocks,
    )
    from assistant.connections.audit import AuditEntry
    from assistant.connections.clients import TOOLS, Client, Permissions
    from assistant.connections.limits import (
        MAX_BODY_BYTES,
        MAX_MEMORY_CHARS,
        MAX_QUERY_CHARS,
        MAX_RESULTS,
    )
    from assistant.connections.questions import EMBEDDING_MODEL, MODEL_NAME, AppQuestion
    from assistant.core.answers import AnswerRun
    from assistant.core.app import Loremind
    from assistant.core.changes import Area, Change, ChangeFeed
    from assistant.core.connections import Embeddings
    from assistant.core.knowledge import sync_summary
    from assistant.core.models import run_download_worker
    from assistant.core.scheduler import Job, JobState
    from assistant.core.served import serve_query
    from assistant.core.teach import (
        LoraSettings,
        TeachSource,
        TrainingData,
        TrainingJob,
        parse_event,
        run_training_worker,
        worker_command,
        worker_env,
    )
    from assistant.engine.adapter_files import AdapterInfo
    from assistant.engine.model import SamplingParams
    from assistant.knowledge.indexer import Progress, SyncReport
    from assistant.knowledge.overview import FolderOverview
    from assistant.knowledge.progress_text import indexing_text
    from assistant.knowledge.rebuild import RebuildProgress, rebuild_text
    from assistant.knowledge.search import SearchResult
    from assistant.memory.book import Memory, MemoryEvent
    from assistant.models import (
        CatalogueEntry,
        InstalledModel,
        Machine,
        ModelManager,
        ModelProfile,
        ModelRow,
        RetrievalRow,
        uses_embedded_demo,
    )
    from assistant.models import Progress as DownloadProgress
    from assistant.models.catalogue import RETRIEVAL_KINDS, gigabytes
    from assistant.statuses import DocumentStatus, FinishReason, MemoryStatus
    from assistant.training.card import card_lines
    from assistant.wording import plural
    from assistant.work import WorkCancelled

_HOMES = {
    "plain_reason": "assistant.adapter_reasons",
    "ChatSettings": "assistant.chat.chat_settings",
    "KnowledgeScope": "assistant.chat.chat_settings",
    "chat_to_json": "assistant.chat.export",
    "indexing_text": "assistant.knowledge.progress_text",
    "RebuildProgress": "assistant.knowledge.rebuild",
    "rebuild_text": "assistant.knowledge.rebuild",
    "sync_summary": "assistant.core.knowledge",
    "plural": "assistant.wording",
    "CatalogueEntry": "assistant.models",
    "InstalledModel": "assistant.models",
    "Machine": "assistant.models",
    "ModelManager": "assistant.models",
    "ModelProfile": "assistant.models",
    "ModelRow": "assistant.models",
    "RetrievalRow": "assistant.models",
    "RETRIEVAL_KINDS": "assistant.models.catalogue",
    "uses_embedded_demo": "assistant.models",
    "DownloadProgress": "assistant.models:Progress",
    "gigabytes": "assistant.models.catalogue",
    "card_lines": "assistant.training.card",
    "LoraSettings": "assistant.core.teach",
    "TeachSource": "assistant.core.teach",
    "TrainingData": "assistant.core.teach",
    "TrainingJob": "assistant.core.teach",
    "parse_event": "assistant.core.teach",
    "worker_command": "assistant.core.teach",
    "run_training_worker": "assistant.core.teach",
    "run_download_worker": "assistant.core.models",
    "worker_env": "assistant.core.teach",
    "Loremind": "assistant.core.app",
    "AnswerRun": "assistant.core.answers",
    "Job": "assistant.core.scheduler",
    "JobState": "assistant.core.scheduler",
    "WorkCancelled": "assistant.work",
    "Area": "assistant.core.changes",
    "Change": "assistant.core.changes",
    "ChangeFeed": "assistant.core.changes",
    "serve_query": "assistant.core.served",
    "AuditEntry": "assistant.connections.audit",
    "TOOLS": "assistant.connections.clients",
    "Client": "assistant.connections.clients",
    "Permissions": "assistant.connections.clients",
    "MAX_BODY_BYTES": "assistant.connections.limits",
    "MAX_MEMORY_CHARS": "assistant.connections.limits",
    "MAX_QUERY_CHARS": "assistant.connections.limits",
    "MAX_RESULTS": "assistant.connections.limits",
    "EMBEDDING_MODEL": "assistant.connections.questions",
    "MODEL_NAME": "assistant.connections.questions",
    "AppQuestion": "assistant.connections.questions",
    "Embeddings": "assistant.core.connections",
    "AskOptions": "assistant.chat.answering",
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
    "event_to_json": "assistant.chat.events",
    "Block": "assistant.chat.rendering",
    "answer_stats_line": "assistant.chat.rendering",
    "citation_number": "assistant.chat.rendering",
    "keep_line_breaks": "assistant.chat.rendering",
    "link_citations": "assistant.chat.rendering",
    "openable_source": "assistant.chat.rendering",
    "snippet_preview": "assistant.chat.rendering",
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
    "EMBEDDING_MODEL",
    "MAX_BODY_BYTES",
    "MAX_MEMORY_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_RESULTS",
    "MODEL_NAME",
    "RETRIEVAL_KINDS",
    "TOOLS",
    "AdapterInfo",
    "AnswerRun",
    "AnswerStats",
    "AppQuestion",
    "Area",
    "AskOptions",
    "AuditEntry",
    "Block",
    "CatalogueEntry",
    "Change",
    "ChangeFeed",
    "ChatMessage",
    "ChatSession",
    "ChatSettings",
    "Citation",
    "Client",
    "DocumentStatus",
    "Done",
    "DownloadProgress",
    "Embeddings",
    "Event",
    "Failed",
    "FinishReason",
    "FolderOverview",
    "InstalledModel",
    "Job",
    "JobState",
    "KnowledgeScope",
    "LoraSettings",
    "Loremind",
    "Machine",
    "MemoriesUsed",
    "Memory",
    "MemoryEvent",
    "MemoryProposed",
    "MemoryStatus",
    "ModelManager",
    "ModelProfile",
    "ModelRow",
    "Notice",
    "Permissions",
    "Progress",
    "RebuildProgress",
    "RetrievalRow",
    "SamplingParams",
    "SearchResult",
    "SessionHit",
    "Sources",
    "SyncReport",
    "TeachSource",
    "Token",
    "TrainingData",
    "TrainingJob",
    "WorkCancelled",
    "answer_stats_line",
    "card_lines",
    "chat_to_json",
    "citation_number",
    "event_to_json",
    "gigabytes",
    "indexing_text",
    "keep_line_breaks",
    "link_citations",
    "openable_source",
    "parse_event",
    "plain_reason",
    "plural",
    "rebuild_text",
    "run_download_worker",
    "run_training_worker",
    "serve_query",
    "snippet_preview",
    "source_location",
    "source_title",
    "split_blocks",
    "sync_summary",
    "uses_embedded_demo",
    "worker_command",
    "worker_env",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'assistant.core' has no attribute {name!r}")
    module, _, attribute = home.partition(":")  # "module:name" when exported under another name
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value
    return value
