"""The chat area: ask, regenerate and edit, and the stored chats, announcing what changed."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.chat.assistant import AskOptions
from assistant.chat.conversations import ChatMessage, ChatSession, SessionHit
from assistant.chat.events import Done, Event, MemoryProposed
from assistant.core.changes import Area, Change

if TYPE_CHECKING:
    from assistant.core.app import Loremind


class ChatArea:
    """Chats for every front end; an answer is a stream of typed events."""

    def __init__(self, core: Loremind) -> None:
        self._core = core

    def new_session(self, temporary: bool = False) -> ChatSession:
        """A new chat; stored from its first message unless it is temporary."""
        return ChatSession(temporary=temporary)

    def ask(self, session: ChatSession, text: str,
            options: AskOptions | None = None) -> Iterator[Event]:
        """Answer ``text`` in ``session``: events ending in Done or Failed."""
        return self._announced(session, self._core.parts.ask(session, text, options))

    def regenerate(self, session: ChatSession,
                   options: AskOptions | None = None) -> Iterator[Event]:
        """Answer the last user message again, replacing the last answer."""
        return self._announced(session, self._core.parts.regenerate(session, options))

    def edit_last(self, session: ChatSession, text: str,
                  options: AskOptions | None = None) -> Iterator[Event]:
        """Replace the last user message with ``text`` and answer it afresh."""
        return self._announced(session, self._core.parts.edit_last(session, text, options))

    def list(self) -> list[ChatSession]:
        """Stored chats, most recent first (messages not loaded)."""
        return self._core.parts.conversations.list()

    def get(self, session_id: str) -> ChatSession:
        """A stored chat with its messages."""
        return self._core.parts.conversations.get(session_id)

    def find(self, query: str) -> builtins.list[str]:
        """Ids of the chats whose title or messages match ``query`` by words or meaning."""
        return self._core.parts.conversations.find_chats(query)

    def search(self, query: str, k: int = 10) -> builtins.list[SessionHit]:
        """Past messages matching ``query``, across chats."""
        return self._core.parts.conversations.search(query, k)

    def rename(self, session_id: str, title: str) -> Change:
        """Give a stored chat a new title."""
        session = self._core.parts.conversations.rename(session_id, title)
        return self._core.changes.publish(Change(Area.CHATS, "renamed", (session.id,)))

    def save_settings(self, session: ChatSession) -> Change | None:
        """Store a chat's own settings (system prompt, sampling, knowledge); a chat not stored
        yet keeps them until its first message."""
        if session.temporary or not session.messages:
            return None
        self._core.parts.conversations.save_session(session)
        return self._core.changes.publish(Change(Area.CHATS, "settings", (session.id,)))

    def choose_version(self, session: ChatSession, message: ChatMessage,
                       index: int) -> ChatMessage:
        """Show another answer of the same turn; the next question follows the one shown."""
        from assistant.chat.versions import choose_version

        return choose_version(self._core.parts.conversations, session, message, index)

    def export(self, session: ChatSession, path: Path) -> Path:
        """Write a chat as Markdown or JSON (the file's suffix picks which)."""
        from assistant.chat.export import export_chat

        return export_chat(session, path)

    def import_(self, source: Path | dict[str, Any]) -> ChatSession:
        """Store a chat exported as JSON (a file, or its data: an undone delete)."""
        from assistant.chat.export import import_chat

        session = import_chat(self._core.parts.conversations, source)
        self._core.changes.publish(Change(Area.CHATS, "imported", (session.id,)))
        return session

    def delete(self, session_id: str) -> Change:
        """Delete a stored chat and its messages for good."""
        session = self._core.parts.conversations.get(session_id)
        self._core.parts.conversations.delete(session.id)
        return self._core.changes.publish(Change(Area.CHATS, "deleted", (session.id,)))

    def _announced(self, session: ChatSession, events: Iterator[Event]) -> Iterator[Event]:
        """Pass the events through; then say the chat changed, and memory if one was proposed."""
        proposed: builtins.list[str] = []
        finished = False
        for event in events:
            if isinstance(event, MemoryProposed):
                proposed.append(event.memory.id)
            finished = finished or isinstance(event, Done)
            yield event
        if proposed:
            self._core.changes.publish(Change(Area.MEMORY, "proposed", tuple(proposed)))
        if finished and not session.temporary:
            self._core.changes.publish(Change(Area.CHATS, "answered", (session.id,)))
