"""Tables made beside the live ones, then switched to in one write: a new embedder's index.

LanceDB cannot rename a table (``rename_table`` is not supported outside its cloud), and
copying a large table back under the old name would leave searches without a table for as long
as the copy takes. So another embedder's vectors go into *shadow* tables (``chunks__<tag>``),
and switching to them is one write of the ``_meta`` table: its layout (which LanceDB table holds
each table's rows), the embedder's name and the vector length, together, so a reader never
sees one without the others. The replaced tables are dropped afterwards.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping

from assistant.store.store import LAYOUT_KEY, Store, _wrapped
from assistant.store.tables import META, TABLES, TableSpec

log = logging.getLogger(__name__)
SEPARATOR = "__"  # between a table's name and its generation's tag


def shadow_spec(spec: TableSpec, tag: str) -> TableSpec:
    """The spec of ``spec``'s table in generation ``tag`` (same columns, key and indexes);
    registered, so the store writes and indexes it like any table."""
    name = f"{spec.name}{SEPARATOR}{tag}"
    known = TABLES.get(name)
    return known if known is not None else dataclasses.replace(spec, name=name)


def switch_tables(store: Store, tables: Mapping[str, str], vector_dim: int,
                  meta: Mapping[str, str]) -> list[str]:
    """Make each table of ``tables`` (name: the shadow that replaces it) the live one, with
    ``meta`` and the new vector length, in one commit; returns the LanceDB tables replaced
    (to drop once nothing reads them). Call it holding the write lock."""
    with store.writing():
        replaced = [store.layout.get(name, name) for name in tables]
        layout = {**store.layout, **{name: shadow for name, shadow in tables.items()}}
        values = {**meta, "vector_dim": str(vector_dim), LAYOUT_KEY: json.dumps(layout)}
        for name, shadow in tables.items():
            # The shadow's vector index (if it got one) is the live table's now.
            values[f"vector_index_rows:{name}"] = store.get_meta(
                f"vector_index_rows:{shadow}") or "0"
        store.upsert(META.name, [{"key": key, "value": value} for key, value in values.items()])
        store.layout = layout
        store.vector_dim = vector_dim
        for name in tables:
            store.forget_table(name)
    return [table for table in replaced if table not in layout.values()]


def drop_tables(store: Store, tables: Iterable[str]) -> None:
    """Delete LanceDB tables no table name points to any more (their files go)."""
    with store.writing():
        for table in tables:
            with _wrapped(f"drop the table '{table}'", store.db_dir):
                store._db.drop_table(table, ignore_missing=True)  # type: ignore[call-arg]
            store.forget_table(table)
            log.info("Dropped the replaced table %s", table)


def leftover_tables(store: Store, keep_tag: str | None = None) -> list[str]:
    """Tables neither in use nor of generation ``keep_tag``: ones replaced by a switch that
    stopped before dropping them, and shadows of a switch that was given up."""
    with _wrapped("list the tables", store.db_dir):
        stored = store._db.list_tables().tables
    in_use = set(store.layout.values())
    kept = f"{SEPARATOR}{keep_tag}" if keep_tag else None
    # A shadow is in use once switched to; a table under its own name, until it was replaced.
    return [table for table in stored if table not in in_use
            and (SEPARATOR in table or table in store.layout)
            and not (kept and table.endswith(kept))]
