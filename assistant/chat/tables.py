"""Tables of chats and their messages."""

from __future__ import annotations

import pyarrow as pa

from assistant.store.tables import TableSpec, vector_field

SESSIONS = TableSpec(
    name="sessions",
    schema=lambda dim: pa.schema([
        ("id", pa.string()),
        ("title", pa.string()),
        ("created_at", pa.float64()),
        ("updated_at", pa.float64()),
        ("model", pa.string()),
        ("adapters", pa.string()),  # JSON: [{"name", "scale", "sha256"}]
        ("settings", pa.string()),  # JSON of ChatSettings; "" or null: the app's settings
    ]),
    key="id",
    scalar=("id",),
)

MESSAGES = TableSpec(
    name="messages",
    schema=lambda dim: pa.schema([
        ("id", pa.string()),
        ("session_id", pa.string()),
        ("ordinal", pa.int32()),
        ("role", pa.string()),
        ("text", pa.string()),
        ("sources", pa.string()),  # JSON list of the citations shown with the answer
        ("memories_used", pa.string()),  # JSON list of {"id", "text"}
        ("created_at", pa.float64()),
        vector_field("vector", dim),
        # Last, where migration m003 adds it to older databases: the turn as the model read it.
        ("sent_text", pa.string()),
        # Added by migration m004, after sent_text: an answer's stats, and the answers that
        # regenerating it produced ({"current": i, "all": [...]}), both JSON.
        ("stats", pa.string()),
        ("versions", pa.string()),
    ]),
    key="id",
    fts=("text",),
    scalar=("id", "session_id"),
    vector="vector",
)
