"""A chat's standing memories change only when the memories themselves change; memories that
become relevant later ride on their own turn."""

from __future__ import annotations

from assistant.chat.memory_choice import MemoryChoice, choose_memories, used_record
from assistant.memory.book import Memory


def memory(id_: str, text: str, created_at: float) -> Memory:
    return Memory(id=id_, text=text, origin="explicit", status="active", pinned=False,
                  replaces="", session_id="", message_id="", created_at=created_at,
                  updated_at=created_at)


A, B, C, D = (memory("a", "likes trains", 1), memory("b", "vegetarian", 2),
              memory("c", "lives in Leeds", 3), memory("d", "allergic to nuts", 4))


def test_the_first_turn_puts_the_relevant_memories_in_the_chat_block_oldest_first():
    assert choose_memories([], [A, B, C, D], [C, A, B]) == MemoryChoice(chat=[A, B, C])


def test_later_turns_keep_the_block_and_add_new_memories_to_the_turn():
    first = [{"id": "b", "text": "vegetarian", "in": "chat"},
             {"id": "a", "text": "likes trains", "in": "chat"}]
    # Ranked differently this turn, and D is new: the block stays B, A; D rides on the turn.
    choice = choose_memories([first], [A, B, C, D], [D, A])
    assert choice == MemoryChoice(chat=[B, A], turn=[D])
    # The next turn: D is in the history already, so only C is new.
    second = used_record(choice)
    assert choose_memories([first, second], [A, B, C, D], [C, D]) == MemoryChoice(
        chat=[B, A], turn=[C])


def test_answers_stored_before_turn_memories_count_as_the_block():
    older = [{"id": "a", "text": "likes trains"}, {"id": "b", "text": "vegetarian"}]
    assert choose_memories([older], [A, B, C], [A]) == MemoryChoice(chat=[A, B])


def test_edited_and_forgotten_memories_follow_the_book():
    edited = memory("a", "likes night trains", 1)
    used = [{"id": "a", "text": "likes trains", "in": "chat"},
            {"id": "c", "text": "lives in Leeds", "in": "chat"}]
    assert choose_memories([used], [edited, B], []) == MemoryChoice(chat=[edited])
