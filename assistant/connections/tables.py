"""Tables of the apps the user registered and of every call they made (the audit trail)."""

from __future__ import annotations

import pyarrow as pa

from assistant.store.tables import TableSpec

CLIENTS = TableSpec(
    name="clients",
    schema=lambda dim: pa.schema([
        ("id", pa.string()),
        ("name", pa.string()),
        ("token_hash", pa.string()),  # sha256 of the token; the token itself is in the keyring
        ("token_key", pa.string()),  # the keyring entry that holds the token
        ("permissions", pa.string()),  # JSON of Permissions
        ("enabled", pa.bool_()),
        ("created_at", pa.float64()),
        ("updated_at", pa.float64()),
    ]),
    key="id",
    scalar=("id", "token_hash"),
)

CLIENT_EVENTS = TableSpec(
    name="client_events",
    schema=lambda dim: pa.schema([
        ("id", pa.string()),
        ("client_id", pa.string()),
        ("client", pa.string()),  # the app's name when it called
        ("at", pa.float64()),
        ("action", pa.string()),  # search / memories / memory_list / folders / propose / chat / …
        ("outcome", pa.string()),  # ok / refused / failed / stopped
        ("count", pa.int32()),  # what it read or wrote: passages, memories, texts
        ("detail", pa.string()),  # the call in words: "read 3 memories"
        ("items", pa.string()),  # JSON list of what was read: memory ids, document paths
    ]),
    key="id",
    scalar=("client_id",),
)
