"""The app's schema changes, as a list of named functions applied once each, in order.

They live above the store, which knows nothing of chats or memories: :func:`open_database`
hands this list to :meth:`Store.open`. To add a table, define its :class:`TableSpec` beside the
code that owns it, write ``def mNNN_what(store): store.create_table(SPEC)`` here and append it
to ``MIGRATIONS``. Never edit or reorder a migration that has shipped; add a new one.
"""

from __future__ import annotations

from pathlib import Path

from assistant.chat.tables import MESSAGES, SESSIONS
from assistant.connections.tables import CLIENT_EVENTS, CLIENTS
from assistant.memory.tables import MEMORIES, MEMORY_EVENTS
from assistant.paths import AppPaths
from assistant.store import Migration, Store
from assistant.store.store import DEFAULT_VECTOR_DIM
from assistant.store.tables import CHUNKS, DOCUMENTS


def m001_knowledge_tables(store: Store) -> None:
    """Documents seen in watched folders and their searchable chunks."""
    store.create_table(DOCUMENTS)
    store.create_table(CHUNKS)


def m002_memory_and_chat_tables(store: Store) -> None:
    """Memories with their audit trail, and stored chats with their messages."""
    for spec in (MEMORIES, MEMORY_EVENTS, SESSIONS, MESSAGES):
        store.create_table(spec)


def m003_message_sent_text(store: Store) -> None:
    """Messages keep the text the model was given (a question with its sources), so later
    turns repeat it and the cached prompt prefix holds."""
    store.add_column(MESSAGES.name, "sent_text", "''")


def m004_chat_settings_and_answer_versions(store: Store) -> None:
    """Chats keep their own settings (system prompt, sampling, knowledge); answers keep their
    stats and the earlier answers that regenerating replaced."""
    store.add_column(SESSIONS.name, "settings", "''")
    store.add_column(MESSAGES.name, "stats", "''")
    store.add_column(MESSAGES.name, "versions", "''")


def m005_memory_source(store: Store) -> None:
    """Memories say which connected app proposed them ("" for the user's own chats)."""
    store.add_column(MEMORIES.name, "source", "''")


def m006_connection_tables(store: Store) -> None:
    """The apps the user registered for Connections, and the audit trail of their calls."""
    for spec in (CLIENTS, CLIENT_EVENTS):
        store.create_table(spec)


MIGRATIONS: list[Migration] = [
    m001_knowledge_tables,
    m002_memory_and_chat_tables,
    m003_message_sent_text,
    m004_chat_settings_and_answer_versions,
    m005_memory_source,
    m006_connection_tables,
]


def open_database(where: AppPaths | Path, vector_dim: int = DEFAULT_VECTOR_DIM) -> Store:
    """The app's database (the data folder's, or the folder given), with every migration."""
    folder = where.database_dir if isinstance(where, AppPaths) else where
    return Store.open(folder, MIGRATIONS, vector_dim)
