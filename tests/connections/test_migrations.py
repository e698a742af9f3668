"""Migrations m005 and m006: an existing database gains the memory source and the tables of
Connections, keeping what it held."""

from __future__ import annotations

import pytest

from assistant.errors import StoreError
from assistant.paths import app_paths


def test_an_older_database_gains_the_source_column_and_the_connection_tables(loremind_home,
                                                                          embedder):
    from assistant.memory.book import MemoryBook
    from assistant.migrations import MIGRATIONS, open_database
    from assistant.store import Store

    folder = app_paths().ensure().database_dir
    old = Store.open(folder, MIGRATIONS[:4])
    old.table("memories").drop_columns(["source"])  # as the memories table was before m005
    vector = embedder.encode_query("I live in Lyon").tolist()
    old.table("memories").add([{"id": "m1", "text": "I live in Lyon", "origin": "explicit",
                                "status": "active", "pinned": False, "replaces": "",
                                "session_id": "", "message_id": "", "created_at": 1.0,
                                "updated_at": 1.0, "vector": vector}])
    with pytest.raises(StoreError):
        old.table("clients")

    store = open_database(app_paths())
    assert store.table("memories").schema.names[-1] == "source"
    assert store.count("clients") == 0 and store.count("client_events") == 0
    book = MemoryBook(store, embedder)
    assert [(m.text, m.source) for m in book.list()] == [("I live in Lyon", "")]
    proposed = book.propose("I work in Villeurbanne", source="Jan")
    assert proposed is not None and book.get(proposed.id).source == "Jan"
    assert store.schema_version == len(MIGRATIONS)
