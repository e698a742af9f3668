"""Tables of what the assistant remembers and of every change made to it."""

from __future__ import annotations

import pyarrow as pa

from assistant.store.tables import TableSpec, vector_field

MEMORIES = TableSpec(
    name="memories",
    schema=lambda dim: pa.schema([
        ("id", pa.string()),
        ("text", pa.string()),
        ("origin", pa.string()),  # explicit / proposed / imported
        ("status", pa.string()),  # active / pending / rejected / forgotten
        ("pinned", pa.bool_()),
        ("replaces", pa.string()),  # for a proposed update: the id of the memory it would change
        ("session_id", pa.string()),
        ("message_id", pa.string()),
        ("created_at", pa.float64()),
        ("updated_at", pa.float64()),
        vector_field("vector", dim),
        # Last, where migration m005 adds it: the app that proposed the memory over Connections
        # (its name as registered), "" for the user's own chats.
        ("source", pa.string()),
    ]),
    key="id",
    fts=("text",),
    scalar=("id", "status"),
    vector="vector",
)

MEMORY_EVENTS = TableSpec(
    name="memory_events",
    schema=lambda dim: pa.schema([
        ("id", pa.string()),
        ("memory_id", pa.string()),
        ("event", pa.string()),  # created / proposed / approved / rejected / edited / …
        ("old_text", pa.string()),
        ("new_text", pa.string()),
        ("old_status", pa.string()),
        ("new_status", pa.string()),
        ("actor", pa.string()),  # user / assistant / app (a connected app: the memory's source)
        ("at", pa.float64()),
    ]),
    key="id",
    scalar=("memory_id",),
)
