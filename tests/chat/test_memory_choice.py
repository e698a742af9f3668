"""A chat's memories change only when the memories themselves change."""

from __future__ import annotations

from assistant.chat.memory_choice import chat_memories
from assistant.memory.book import Memory


def memory(id_: str, text: str, created_at: float) -> Memory:
    return Memory(id=id_, text=text, origin="explicit", status="active", pinned=False,
                  replaces="", session_id="", message_id="", created_at=created_at,
                  updated_at=created_at)


A, B, C, D = (memory("a", "likes trains", 1), memory("b", "vegetarian", 2),
              memory("c", "lives in Leeds", 3), memory("d", "allergic to nuts", 4))


def test_first_turn_orders_memories_oldest_first():
    assert chat_memories([], [A, B, C], [C, A, B]) == [A, B, C]


def test_the_chat_keeps_what_it_used_in_order_and_appends_new_ones():
    used = [{"id": "b", "text": "vegetarian"}, {"id": "a", "text": "likes trains"}]
    # Ranked differently this turn, and D is new: B and A keep their places, D comes last.
    assert chat_memories(used, [A, B, C, D], [D, A]) == [B, A, D]


def test_edited_and_forgotten_memories_follow_the_book():
    edited = memory("a", "likes night trains", 1)
    used = [{"id": "a", "text": "likes trains"}, {"id": "c", "text": "lives in Leeds"}]
    assert chat_memories(used, [edited, B], []) == [edited]


def test_the_set_stops_growing_at_the_limit():
    used = [{"id": "a", "text": ""}, {"id": "b", "text": ""}]
    assert chat_memories(used, [A, B, C, D], [C, D], limit=3) == [A, B, C]
