"""Table schemas: what each table holds, its key, and which columns are indexed.

A new table is a :class:`TableSpec` here plus a migration in :mod:`assistant.migrations`
that calls ``store.create_table(SPEC)``. Vector columns take the dimension recorded in the store,
so every vector in the database comes from the same embedder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

SchemaFactory = Callable[[int], pa.Schema]

TABLES: dict[str, TableSpec] = {}


@dataclass(frozen=True)
class TableSpec:
    """A table's name, its Arrow schema (given the vector dimension) and its indexes."""

    name: str
    schema: SchemaFactory
    key: str
    fts: tuple[str, ...] = ()  # columns with a full-text index
    scalar: tuple[str, ...] = ()  # columns with a BTree index (fast upserts, deletes, filters)
    vector: str | None = None  # the vector column, indexed once the table is large

    def __post_init__(self) -> None:
        # Defining a spec is enough for the store to know a table's key and indexes.
        TABLES[self.name] = self


def vector_field(name: str, dim: int) -> pa.Field:
    """A fixed-size float32 vector column of ``dim`` values."""
    return pa.field(name, pa.list_(pa.float32(), dim))


META = TableSpec(
    name="_meta",
    schema=lambda dim: pa.schema([("key", pa.string()), ("value", pa.string())]),
    key="key",
)

MIGRATIONS_APPLIED = TableSpec(
    name="_migrations",
    schema=lambda dim: pa.schema([("name", pa.string()), ("applied_at", pa.float64())]),
    key="name",
)

DOCUMENTS = TableSpec(
    name="documents",
    schema=lambda dim: pa.schema([
        ("path", pa.string()),
        ("folder", pa.string()),
        ("ext", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("hash", pa.string()),
        ("status", pa.string()),  # indexed / skipped / failed
        ("reason", pa.string()),
        ("chunks", pa.int32()),
        ("updated_at", pa.float64()),
    ]),
    key="path",
    scalar=("path", "folder"),
)

CHUNKS = TableSpec(
    name="chunks",
    schema=lambda dim: pa.schema([
        ("id", pa.string()),  # "<path>#<ordinal>"
        ("path", pa.string()),
        ("folder", pa.string()),
        ("ext", pa.string()),
        ("ordinal", pa.int32()),
        ("page", pa.int32()),  # 0 when the format has no pages
        ("heading", pa.string()),  # heading trail, "Install > Linux"
        ("start", pa.int64()),  # character offsets in the document's extracted text
        ("end", pa.int64()),
        ("text", pa.string()),
        vector_field("vector", dim),
    ]),
    key="id",
    fts=("text", "heading"),  # plain word search reads the first
    scalar=("path", "folder"),
    vector="vector",
)
