"""Which memories a prompt carries, and where, so that the chat's cached prompt holds.

The system block, at the very start of the prompt, carries the chat's standing memories: those
chosen for its first question (the pinned ones and those about it). Any change there makes
llama.cpp evaluate the whole chat again, so later turns keep that block as it is (a memory
edited or forgotten meanwhile changes it, as it must). A memory that becomes relevant later
rides on the turn that needed it, beside its sources, and stays in the chat's history from
then on: it costs that turn's tokens only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the memory book imports LanceDB: a first answer must not wait for it
    from assistant.memory.book import Memory

MAX_CHAT_MEMORIES = 12  # the system block's size
MAX_TURN_MEMORIES = 6  # newly relevant memories on one turn
IN_CHAT = "chat"  # where a used memory sat: the system block…
IN_TURN = "turn"  # …or the turn's own message


@dataclass
class MemoryChoice:
    """The memories of one prompt: the chat's standing ones and this turn's new ones."""

    chat: list[Memory] = field(default_factory=list)
    turn: list[Memory] = field(default_factory=list)


def choose_memories(answers: Sequence[Sequence[dict[str, Any]]], active: Sequence[Memory],
                    relevant: Sequence[Memory]) -> MemoryChoice:
    """The memories for this turn, given what the chat's earlier answers used (``answers``:
    each answer's ``memories_used``, oldest first), the active memories and those relevant to
    this question (pinned ones included)."""
    by_id = {m.id: m for m in active}
    if not answers:
        chosen = sorted(relevant, key=lambda m: (m.created_at, m.id))[:MAX_CHAT_MEMORIES]
        return MemoryChoice(chat=chosen)
    # Items stored before memories could ride on a turn have no "in": they sat in the block.
    standing = [by_id[item["id"]] for item in answers[-1]
                if item.get("in", IN_CHAT) == IN_CHAT and item.get("id") in by_id]
    given = {m.id for m in standing} | {item.get("id") for used in answers for item in used
                                         if item.get("in") == IN_TURN}
    new = [m for m in relevant if m.id not in given][:MAX_TURN_MEMORIES]
    return MemoryChoice(chat=standing, turn=new)


def used_record(choice: MemoryChoice) -> list[dict[str, Any]]:
    """How an answer stores the memories it was given (and where each one sat)."""
    return ([{"id": m.id, "text": m.text, "in": IN_CHAT} for m in choice.chat]
            + [{"id": m.id, "text": m.text, "in": IN_TURN} for m in choice.turn])


def answers_memories(messages: Sequence[Any]) -> list[list[dict[str, Any]]]:
    """Each earlier answer's ``memories_used``, oldest first."""
    return [list(m.memories_used) for m in messages if m.role == "assistant"]
