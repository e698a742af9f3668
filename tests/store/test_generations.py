"""Shadow tables switched to in one write: vectors of another length beside the live ones, the
switch seen by a second connection, upkeep only of the tables in use, and the replaced ones
dropped."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from assistant.store import Store, TableSpec, vector_field
from assistant.store.generations import drop_tables, leftover_tables, shadow_spec, switch_tables

PAGES = TableSpec(
    name="test_pages",
    schema=lambda dim: pa.schema([("id", pa.string()), ("text", pa.string()),
                                  vector_field("vector", dim)]),
    key="id",
    fts=("text",),
    scalar=("id",),
    vector="vector",
)


def m900_test_pages(store: Store) -> None:
    """A table only these tests use."""
    store.create_table(PAGES)


def rows(dim: int, words: list[str]) -> list[dict]:
    rng = np.random.default_rng(dim)
    return [{"id": word, "text": f"a page about {word}",
             "vector": rng.standard_normal(dim).astype(np.float32)} for word in words]


def test_a_shadow_of_another_length_is_switched_to_in_one_write(tmp_path):
    store = Store.open(tmp_path / "db", [m900_test_pages], vector_dim=4)
    store.add(PAGES.name, rows(4, ["boilers", "radiators"]))
    shadow = shadow_spec(PAGES, "t1")
    store.create_table(shadow, 8)
    store.add(shadow.name, rows(8, ["boilers", "radiators", "pumps"]))  # its own length
    assert store.table_dim(PAGES.name) == 4 and store.table_dim(shadow.name) == 8
    assert leftover_tables(store, keep_tag="t1") == []  # the shadow being filled stays
    assert leftover_tables(store) == [shadow.name]  # ...unless its switch was given up

    replaced = switch_tables(store, {PAGES.name: shadow.name}, 8, {"embedder": "new"})
    assert replaced == [PAGES.name] and store.vector_dim == 8
    assert store.count(PAGES.name) == 3 and store.table_dim(PAGES.name) == 8
    hits = store.search_vector(PAGES.name, rows(8, ["x"])[0]["vector"], 3)
    assert len(hits) == 3
    store.add(PAGES.name, rows(8, ["valves"]))  # writes go to the new table
    other = Store.open(tmp_path / "db", [m900_test_pages])  # another process opening it
    assert other.count(PAGES.name) == 4 and other.get_meta("embedder") == "new"
    assert other.vector_dim == 8 and other.table_dim(PAGES.name) == 8

    assert PAGES.name in store.live_tables() and shadow.name not in store.live_tables()
    store.maintain()  # upkeep of the tables in use: the new one gets its word index
    assert store.search_text(PAGES.name, "valves", 5)[0]["id"] == "valves"
    assert leftover_tables(store) == [PAGES.name]  # the replaced table, under its own name
    drop_tables(store, replaced)
    assert PAGES.name not in store._db.list_tables().tables and store.count(PAGES.name) == 4
