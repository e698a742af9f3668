"""Schema changes as a list of named functions, applied once each, in order.

To add a table: define its :class:`TableSpec` in :mod:`assistant.store.tables`, write
``def mNNN_what(store): store.create_table(SPEC)`` here and append it to ``MIGRATIONS``.
Never edit or reorder a migration that has shipped; add a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.store.tables import CHUNKS, DOCUMENTS

if TYPE_CHECKING:
    from assistant.store.store import Store

Migration = Callable[["Store"], None]


def m001_knowledge_tables(store: Store) -> None:
    """Documents seen in watched folders and their searchable chunks."""
    store.create_table(DOCUMENTS)
    store.create_table(CHUNKS)


def m002_memory_and_chat_tables(store: Store) -> None:
    """Memories with their audit trail, and stored chats with their messages."""
    from assistant.chat.tables import MESSAGES, SESSIONS
    from assistant.memory.tables import MEMORIES, MEMORY_EVENTS

    for spec in (MEMORIES, MEMORY_EVENTS, SESSIONS, MESSAGES):
        store.create_table(spec)


MIGRATIONS: list[Migration] = [
    m001_knowledge_tables,
    m002_memory_and_chat_tables,
]
