"""The one local database: tables, migrations, a single write path, hybrid search.

The store applies the migrations it is given (the app's are in :mod:`assistant.migrations`);
to add a table, define a :class:`TableSpec` and append a migration that creates it there.
"""

from __future__ import annotations

from assistant.store.search import rrf_fuse
from assistant.store.store import Migration, Store, sql_in, sql_str
from assistant.store.tables import CHUNKS, DOCUMENTS, TableSpec, vector_field

__all__ = [
    "CHUNKS",
    "DOCUMENTS",
    "Migration",
    "Store",
    "TableSpec",
    "rrf_fuse",
    "sql_in",
    "sql_str",
    "vector_field",
]
