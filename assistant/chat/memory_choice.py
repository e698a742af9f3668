"""Which memories a chat's prompt carries, chosen so that its system block stays the same.

The memories sit in the system block, at the very start of the prompt: any change there makes
llama.cpp evaluate the whole chat again. So a chat keeps the memories it already used, in the
same order, and only appends newly relevant ones; the block changes when a memory itself
changes (edited, forgotten, added), not because another one ranked higher for this question.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the memory book imports LanceDB: a first answer must not wait for it
    from assistant.memory.book import Memory

MAX_CHAT_MEMORIES = 12  # a chat's set only grows; past this, new ones wait for a new chat


def chat_memories(used_before: Sequence[dict[str, Any]], active: Sequence[Memory],
                  relevant: Sequence[Memory], limit: int = MAX_CHAT_MEMORIES) -> list[Memory]:
    """The memories for this turn: those the chat used last time that are still active (with
    their current text, in the same order), then the newly relevant ones, oldest first."""
    by_id = {m.id: m for m in active}
    chosen = [by_id[item["id"]] for item in used_before if item.get("id") in by_id]
    have = {m.id for m in chosen}
    for memory in sorted(relevant, key=lambda m: (m.created_at, m.id)):
        if len(chosen) >= limit:
            break
        if memory.id not in have:
            chosen.append(memory)
            have.add(memory.id)
    return chosen


def last_used(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """The memories the chat's latest answer was given (``{"id", "text"}`` items)."""
    for message in reversed(messages):
        if message.role == "assistant":
            return list(message.memories_used)
    return []
