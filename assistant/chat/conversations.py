"""Chats and their messages in the store: list by recency, rename, delete, search across chats.

A temporary chat never reaches this module: it lives in memory only and leaves no trace.
"""

from __future__ import annotations

import builtins
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.chat.chat_settings import ChatSettings
from assistant.errors import LoremindError

# The table specs and the store's helpers import LanceDB (about a second of CPU): the methods
# below import them, so the chat types here cost nothing to a first answer that needs no store.
if TYPE_CHECKING:
    import numpy as np

    from assistant.knowledge.embedding import TextEmbedder
    from assistant.store import Store

# Cosine similarity from which a message counts as about a search's meaning (all-MiniLM-L6-v2:
# a nonsense word scores ~0.1 against ordinary sentences, a paraphrase 0.5 or more).
CHAT_SEARCH_SIMILARITY = 0.45


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
    # What the model was given for this turn when that differs from ``text`` (a question with
    # its sources, an answer before trimming); later turns repeat it, so the cache holds.
    sent_text: str = ""
    # An answer's stats (completion_tokens, seconds, finish_reason, adapters), kept so that a
    # reopened chat still says what each answer cost and whether it was stopped.
    stats: dict[str, Any] = field(default_factory=dict)
    # Every answer given to this turn, oldest first, when it was regenerated (each a dict of
    # text, sources, memories_used, stats); this message shows ``versions[version]``.
    versions: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0

    @property
    def prompt_text(self) -> str:
        """The turn as the model read it, to repeat in later prompts."""
        return self.sent_text or self.text


@dataclass
class ChatSession:
    """A chat: its turns, and the model and adapters it runs with."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    title: str = "New chat"
    temporary: bool = False
    model: str = ""
    adapters: list[dict[str, Any]] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)
    settings: ChatSettings = field(default_factory=ChatSettings)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    # What could not be read back from the database (a part of a row an older version stored
    # malformed): the chat is shown without those parts, and says so. Never stored.
    damaged: list[str] = field(default_factory=list)


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

    def __init__(self, store: Store, embedder: TextEmbedder) -> None:
        self.store = store
        self.embedder = embedder

    def list(self) -> list[ChatSession]:
        """All stored chats, most recently used first (messages not loaded)."""
        from assistant.chat.tables import SESSIONS
        rows = self.store.rows(SESSIONS.name)
        return sorted((_session(r) for r in rows), key=lambda s: -s.updated_at)

    def get(self, session_id: str) -> ChatSession:
        """A stored chat with its messages in order (parts that cannot be read are left out
        and named in ``damaged``)."""
        from assistant.chat.chat_file import stored_message
        from assistant.chat.tables import MESSAGES, SESSIONS
        from assistant.store import sql_str
        rows = self.store.rows(SESSIONS.name, where=f"id = {sql_str(session_id)}")
        if not rows:
            matches = [r for r in self.store.rows(SESSIONS.name)
                       if (r["id"] or "").startswith(session_id)]
            if len(matches) != 1:
                raise SessionNotFound(f"No chat has the id '{session_id}'. "
                                      "List them with: loremind sessions list")
            rows = matches
        session = _session(rows[0])
        messages = self.store.rows(MESSAGES.name, where=f"session_id = {sql_str(session.id)}",
                                   columns=["id", "ordinal", "role", "text", "sources",
                                            "memories_used", "created_at", "sent_text",
                                            "stats", "versions"])
        for number, row in enumerate(sorted(messages, key=lambda m: m["ordinal"] or 0), 1):
            message, problems = stored_message(row, number, session.created_at)
            session.damaged += problems
            if message is not None:
                session.messages.append(message)
        return session

    def save_session(self, session: ChatSession) -> None:
        """Write a chat's title, model and adapters (not its messages)."""
        from assistant.chat.tables import SESSIONS
        _refuse_temporary(session)
        session.updated_at = time.time()
        self.store.upsert(SESSIONS.name, [_session_row(session)])

    def append(self, session: ChatSession, message: ChatMessage,
               vector: np.ndarray | None = None) -> None:
        """Store a new turn at the end of a chat (``vector``: its text's, when the caller
        embedded it already, as an answer does with its question)."""
        from assistant.chat.tables import MESSAGES
        from assistant.store import sql_str
        _refuse_temporary(session)
        if vector is None:
            vector = self.embedder.encode_query(message.text or " ")
        with self.store.writing():
            ordinal = self.store.count(MESSAGES.name, f"session_id = {sql_str(session.id)}")
            self.store.add(MESSAGES.name, [_message_row(session, message, ordinal, vector)])
            self.save_session(session)

    def update_sent_text(self, session: ChatSession, message: ChatMessage) -> None:
        """Record what the model was given for a stored turn (an answer regenerated with
        fresh sources)."""
        from assistant.chat.tables import MESSAGES
        from assistant.store import sql_str
        _refuse_temporary(session)
        self.store.update(MESSAGES.name, f"id = {sql_str(message.id)}",
                          {"sent_text": message.sent_text})

    def update_answer(self, session: ChatSession, message: ChatMessage) -> None:
        """Store a turn's shown answer again (the user paged to another version of it)."""
        from assistant.chat.tables import MESSAGES
        from assistant.store import sql_str
        _refuse_temporary(session)
        self.store.update(MESSAGES.name, f"id = {sql_str(message.id)}", {
            "text": message.text, "sources": json.dumps(message.sources),
            "memories_used": json.dumps(message.memories_used),
            "stats": json.dumps(message.stats), "sent_text": message.sent_text,
            "versions": json.dumps({"current": message.version, "all": message.versions})
            if message.versions else ""})

    def taken_message_ids(self, ids: builtins.list[str]) -> set[str]:
        """Which of ``ids`` a stored turn already has."""
        from assistant.chat.tables import MESSAGES
        from assistant.store import sql_in
        if not ids:
            return set()
        return {r["id"] for r in self.store.rows(MESSAGES.name, where=sql_in("id", ids),
                                                 columns=["id"])}

    def restore(self, session: ChatSession) -> None:
        """Store a whole chat with its turns at once (an imported chat, an undone delete)."""
        from assistant.chat.tables import MESSAGES, SESSIONS
        from assistant.store import sql_str
        _refuse_temporary(session)
        texts = [m.text or " " for m in session.messages]
        vectors: Any = self.embedder.encode(texts) if texts else []
        rows = [_message_row(session, m, i, vectors[i]) for i, m in enumerate(session.messages)]
        with self.store.writing():
            self.store.delete(MESSAGES.name, f"session_id = {sql_str(session.id)}")
            self.store.add(MESSAGES.name, rows)
            self.store.upsert(SESSIONS.name, [_session_row(session)])  # keeps its times

    def exists(self, session_id: str) -> bool:
        """Whether a chat with exactly this id is stored."""
        from assistant.chat.tables import SESSIONS
        from assistant.store import sql_str
        return self.store.count(SESSIONS.name, f"id = {sql_str(session_id)}") > 0

    def find_chats(self, query: str, k: int = 50) -> builtins.list[str]:
        """Ids of the chats whose title or messages match ``query``: by its words, or by a
        meaning close enough to it (nearest neighbours alone would match every chat)."""
        from assistant.chat.tables import MESSAGES
        query = query.strip()
        if not query:
            return [s.id for s in self.list()]
        words = query.lower()
        found = [s.id for s in self.list() if words in s.title.lower()]
        columns = ["id", "session_id"]
        hits = self.store.search_text(MESSAGES.name, query, k, columns=columns)
        near = self.store.search_vector(MESSAGES.name, self.embedder.encode_query(query), k,
                                        columns=columns)
        hits += [r for r in near if 1.0 - float(r["_distance"]) >= CHAT_SEARCH_SIMILARITY]
        for row in hits:
            if row["session_id"] not in found:
                found.append(row["session_id"])
        return found

    def truncate(self, session: ChatSession, keep: int) -> None:
        """Delete every stored turn after the first ``keep`` (regenerate and edit use this)."""
        from assistant.chat.tables import MESSAGES
        from assistant.store import sql_str
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
        """Delete a chat and all its messages, leaving no copy of them in the files on disk."""
        from assistant.chat.tables import MESSAGES, SESSIONS
        from assistant.store import sql_str
        session = self.get(session_id)
        with self.store.writing():
            self.store.delete(MESSAGES.name, f"session_id = {sql_str(session.id)}")
            self.store.delete(SESSIONS.name, f"id = {sql_str(session.id)}")
            self.store.purge(MESSAGES.name)
            self.store.purge(SESSIONS.name)

    def search(self, query: str, k: int = 10) -> builtins.list[SessionHit]:
        """Past messages matching ``query`` by meaning or by words, across all chats."""
        from assistant.chat.tables import MESSAGES, SESSIONS
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
    from assistant.chat.chat_file import stored_session
    return stored_session(row)


def _session_row(session: ChatSession) -> dict[str, Any]:
    return {"id": session.id, "title": session.title, "created_at": session.created_at,
            "updated_at": session.updated_at, "model": session.model,
            "adapters": json.dumps(session.adapters), "settings": session.settings.to_json()}


def _message_row(session: ChatSession, message: ChatMessage, ordinal: int,
                 vector: Any) -> dict[str, Any]:
    return {
        "id": message.id, "session_id": session.id, "ordinal": ordinal, "role": message.role,
        "text": message.text, "sources": json.dumps(message.sources),
        "memories_used": json.dumps(message.memories_used), "created_at": message.created_at,
        "vector": vector, "sent_text": message.sent_text, "stats": json.dumps(message.stats),
        "versions": json.dumps({"current": message.version, "all": message.versions})
        if message.versions else "",
    }
