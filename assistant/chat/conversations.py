"""Chats and their messages in the store: list by recency, rename, delete, search across chats.

A temporary chat never reaches this module: it lives in memory only and leaves no trace.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from assistant.chat.tables import MESSAGES, SESSIONS
from assistant.errors import LoremindError
from assistant.knowledge.embedder import Embedder
from assistant.store import Store, sql_str


class SessionNotFound(LoremindError):
    """No chat has that id."""


@dataclass
class ChatMessage:
    """One turn of a chat as it is shown and stored."""

    role: str
    text: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    sources: list[dict[str, Any]] = field(default_factory=list)
    memories_used: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)


@dataclass
class ChatSession:
    """A chat: its turns, and the model and adapters it runs with."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    title: str = "New chat"
    temporary: bool = False
    model: str = ""
    adapters: list[dict[str, Any]] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class SessionHit:
    """A past message that matches a search, with its chat."""

    session_id: str
    title: str
    role: str
    text: str
    score: float


class Conversations:
    """Stored chats. Temporary sessions are refused here, so they can never be written."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def list(self) -> list[ChatSession]:
        """All stored chats, most recently used first (messages not loaded)."""
        rows = self.store.rows(SESSIONS.name)
        return sorted((_session(r) for r in rows), key=lambda s: -s.updated_at)

    def get(self, session_id: str) -> ChatSession:
        """A stored chat with its messages in order."""
        rows = self.store.rows(SESSIONS.name, where=f"id = {sql_str(session_id)}")
        if not rows:
            matches = [r for r in self.store.rows(SESSIONS.name) if r["id"].startswith(session_id)]
            if len(matches) != 1:
                raise SessionNotFound(f"No chat has the id '{session_id}'. "
                                      "List them with: loremind sessions list")
            rows = matches
        session = _session(rows[0])
        messages = self.store.rows(MESSAGES.name, where=f"session_id = {sql_str(session.id)}",
                                   columns=["id", "ordinal", "role", "text", "sources",
                                            "memories_used", "created_at"])
        session.messages = [
            ChatMessage(role=m["role"], text=m["text"], id=m["id"],
                        sources=json.loads(m["sources"] or "[]"),
                        memories_used=json.loads(m["memories_used"] or "[]"),
                        created_at=m["created_at"])
            for m in sorted(messages, key=lambda m: m["ordinal"])
        ]
        return session

    def save_session(self, session: ChatSession) -> None:
        """Write a chat's title, model and adapters (not its messages)."""
        _refuse_temporary(session)
        session.updated_at = time.time()
        self.store.upsert(SESSIONS.name, [{
            "id": session.id, "title": session.title, "created_at": session.created_at,
            "updated_at": session.updated_at, "model": session.model,
            "adapters": json.dumps(session.adapters),
        }])

    def append(self, session: ChatSession, message: ChatMessage) -> None:
        """Store a new turn at the end of a chat."""
        _refuse_temporary(session)
        vector = self.embedder.encode_query(message.text or " ")
        with self.store.writing():
            ordinal = self.store.count(MESSAGES.name, f"session_id = {sql_str(session.id)}")
            self.store.add(MESSAGES.name, [_message_row(session, message, ordinal, vector)])
            self.save_session(session)

    def truncate(self, session: ChatSession, keep: int) -> None:
        """Delete every stored turn after the first ``keep`` (regenerate and edit use this)."""
        _refuse_temporary(session)
        ids = [m.id for m in session.messages[keep:]]
        if ids:
            self.store.delete(MESSAGES.name, "id IN (" + ", ".join(sql_str(i) for i in ids) + ")")

    def rename(self, session_id: str, title: str) -> ChatSession:
        """Give a chat a new title."""
        session = self.get(session_id)
        session.title = title.strip() or session.title
        self.save_session(session)
        return session

    def delete(self, session_id: str) -> None:
        """Delete a chat and all its messages."""
        session = self.get(session_id)
        with self.store.writing():
            self.store.delete(MESSAGES.name, f"session_id = {sql_str(session.id)}")
            self.store.delete(SESSIONS.name, f"id = {sql_str(session.id)}")

    def search(self, query: str, k: int = 10) -> list[SessionHit]:
        """Past messages matching ``query`` by meaning or by words, across all chats."""
        rows = self.store.search_hybrid(
            MESSAGES.name, self.embedder.encode_query(query), query, k,
            columns=["id", "session_id", "role", "text"])
        titles = {r["id"]: r["title"] for r in self.store.rows(SESSIONS.name,
                                                                columns=["id", "title"])}
        return [SessionHit(r["session_id"], titles.get(r["session_id"], ""), r["role"],
                           r["text"], float(r["_score"])) for r in rows]


def _refuse_temporary(session: ChatSession) -> None:
    if session.temporary:
        raise LoremindError("A temporary chat is never stored.")


def _session(row: dict[str, Any]) -> ChatSession:
    return ChatSession(id=row["id"], title=row["title"], model=row["model"],
                       adapters=json.loads(row["adapters"] or "[]"),
                       created_at=row["created_at"], updated_at=row["updated_at"])


def _message_row(session: ChatSession, message: ChatMessage, ordinal: int,
                 vector: Any) -> dict[str, Any]:
    return {
        "id": message.id, "session_id": session.id, "ordinal": ordinal, "role": message.role,
        "text": message.text, "sources": json.dumps(message.sources),
        "memories_used": json.dumps(message.memories_used), "created_at": message.created_at,
        "vector": vector,
    }
