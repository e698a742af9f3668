"""The one local database: tables, migrations, a single write path, hybrid search.

To add a table, define a :class:`TableSpec` in :mod:`assistant.store.tables` and append a
migration that creates it to :data:`assistant.store.migrations.MIGRATIONS`.
"""

from __future__ import annotations

from assistant.store.search import rrf_fuse
from assistant.store.store import Store, sql_in, sql_str
from assistant.store.tables import CHUNKS, DOCUMENTS, TableSpec, vector_field

__all__ = [
    "CHUNKS",
    "DOCUMENTS",
    "Store",
    "TableSpec",
    "rrf_fuse",
    "sql_in",
    "sql_str",
    "vector_field",
]
