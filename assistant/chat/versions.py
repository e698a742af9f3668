"""Answers given again: regenerating keeps the earlier answers as versions to page through.

A turn's message shows one version (its text, sources, memories and stats); ``versions`` holds
every answer the turn received, oldest first, so the pages keep their numbers (``‹ 2/3 ›``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant.chat.events import Done, Event

if TYPE_CHECKING:
    from assistant.chat.conversations import ChatMessage, ChatSession, Conversations

_FIELDS = ("text", "sources", "memories_used", "stats", "sent_text")


def stats_record(stats: Any, adapters: list[dict[str, Any]], engine: str = "") -> dict[str, Any]:
    """What an answer cost, as stored with it (engine stats plus the adapters it ran with and
    which engine answered, so that a reopened answer's stats line reads as it did live)."""
    record = {"completion_tokens": stats.completion_tokens,
              "prompt_tokens": stats.prompt_tokens, "seconds": round(stats.seconds, 3),
              "finish_reason": str(stats.finish_reason), "adapters": adapters}
    if engine:
        record["engine"] = engine
    return record


def snapshot(message: ChatMessage) -> dict[str, Any]:
    """One version of an answer: what the message shows now."""
    return {name: getattr(message, name) for name in _FIELDS}


def add_version(answer: ChatMessage, earlier: ChatMessage) -> None:
    """Make ``answer`` the newest version of its turn, after ``earlier``'s versions."""
    before = earlier.versions or [snapshot(earlier)]
    answer.versions = [*before, snapshot(answer)]
    answer.version = len(answer.versions) - 1


def show_version(message: ChatMessage, index: int) -> ChatMessage:
    """Let ``message`` show its version ``index`` (clamped); the next question follows it."""
    if not message.versions:
        return message
    index = max(0, min(index, len(message.versions) - 1))
    for name in _FIELDS:
        default: Any = "" if name in ("text", "sent_text") else {} if name == "stats" else []
        setattr(message, name, message.versions[index].get(name, default))
    message.version = index
    return message


def choose_version(conversations: Conversations, session: ChatSession,
                   message: ChatMessage, index: int) -> ChatMessage:
    """Show version ``index`` of a stored answer and store that choice."""
    show_version(message, index)
    if not session.temporary:
        conversations.update_answer(session, message)
    return message


def keeping_versions(events: Iterator[Event], session: ChatSession, earlier: ChatMessage,
                     conversations: Conversations) -> Iterator[Event]:
    """Pass an answer's events on; once it is done, keep ``earlier`` as its older version."""
    for event in events:
        if isinstance(event, Done) and session.messages and \
                session.messages[-1].id == event.message_id:
            answer = session.messages[-1]
            add_version(answer, earlier)
            if not session.temporary:
                conversations.update_answer(session, answer)
        yield event
