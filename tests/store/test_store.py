"""The store: migrations, the generic row helpers, search, upkeep and the single write path."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from assistant.errors import StoreError
from assistant.store import Store, TableSpec, rrf_fuse, vector_field
from assistant.store import store as store_module

NOTES = TableSpec(
    name="test_notes",
    schema=lambda dim: pa.schema([("id", pa.string()), ("text", pa.string()),
                                  ("n", pa.int64()), vector_field("vector", dim)]),
    key="id",
    fts=("text",),
    scalar=("id",),
    vector="vector",
)


def m900_test_notes(store: Store) -> None:
    """A table only these tests use."""
    store.create_table(NOTES)


def m901_test_notes_index(store: Store) -> None:
    """A later migration: records that it ran."""
    store.set_meta("m901", "ran")


MIGRATIONS = [m900_test_notes, m901_test_notes_index]


@pytest.fixture
def notes_db(tmp_path) -> Path:
    """Where a database with the test table lives (opened with ``MIGRATIONS``)."""
    return tmp_path / "db"


def _unit(seed: int, dim: int = 384) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_migrations_run_once_and_new_ones_apply_on_open(tmp_path):
    plain = tmp_path / "plain"
    first = Store.open(plain, MIGRATIONS[:-1])
    assert first.schema_version == 1
    assert first.get_meta("m901") is None
    first.set_meta("marker", "kept")
    again = Store.open(plain, MIGRATIONS)  # the new migration is applied, nothing else is redone
    assert again.schema_version == 2
    assert again.get_meta("marker") == "kept"
    assert again.get_meta("m901") == "ran"
    assert again.count(NOTES.name) == 0


def test_the_app_database_has_every_table(store):
    from assistant.migrations import MIGRATIONS as APP_MIGRATIONS

    assert store.schema_version == len(APP_MIGRATIONS)
    for name in ("documents", "chunks", "memories", "memory_events", "sessions", "messages"):
        assert store.count(name) == 0


def test_rows_upsert_delete_and_replace(notes_db):
    store = Store.open(notes_db, MIGRATIONS)
    rows = [{"id": f"k{i}", "text": f"note {i}", "n": i, "vector": _unit(i)} for i in range(5)]
    store.add(NOTES.name, rows)
    store.upsert(NOTES.name, [{**rows[0], "text": "changed"}, {**rows[0], "id": "k9"}])
    assert store.count(NOTES.name) == 6
    assert store.rows(NOTES.name, where="id = 'k0'", columns=["text"]) == [{"text": "changed"}]
    store.delete(NOTES.name, "n >= 3")
    store.replace(NOTES.name, "id = 'k1'", [{**rows[1], "text": "replaced"}])
    ids = sorted(r["id"] for r in store.rows(NOTES.name, columns=["id"]))
    assert ids == ["k0", "k1", "k2", "k9"]
    assert store.rows(NOTES.name, where="id = 'k1'")[0]["text"] == "replaced"


def test_hybrid_search_fuses_vector_and_text(notes_db):
    store = Store.open(notes_db, MIGRATIONS)
    store.add(NOTES.name, [
        {"id": "a", "text": "volcano eruption report", "n": 0, "vector": _unit(1)},
        {"id": "b", "text": "quarterly budget KX-77 figures", "n": 1, "vector": _unit(2)},
        {"id": "c", "text": "garden notes", "n": 2, "vector": _unit(3)},
    ])
    by_vector = store.search_vector(NOTES.name, _unit(3), 1)
    assert by_vector[0]["id"] == "c"
    by_text = store.search_text(NOTES.name, "KX-77", 3)
    assert by_text[0]["id"] == "b"
    fused = store.search_hybrid(NOTES.name, _unit(3), "KX-77", 2, columns=["id"])
    assert {r["id"] for r in fused} == {"b", "c"}
    assert store.search_hybrid(NOTES.name, _unit(3), "KX-77", 2, where="n < 2",
                               columns=["id"])[0]["id"] == "b"


def test_rrf_rewards_agreement():
    fused = rrf_fuse([[{"id": 1}, {"id": 2}], [{"id": 2}, {"id": 3}]], key="id", k=3)
    assert [r["id"] for r in fused] == [2, 1, 3]


def test_rrf_depth_lets_only_the_top_ranks_vote():
    # Both searches rank "mid" 3rd; each ranks its own favourite 1st and the other's nowhere.
    vector = [{"id": "v1"}, {"id": "x"}, {"id": "mid"}, {"id": "v4"}]
    text = [{"id": "t1"}, {"id": "y"}, {"id": "mid"}, {"id": "t4"}]
    full = [r["id"] for r in rrf_fuse([vector, text], key="id", k=8)]
    assert full[0] == "mid"  # agreement deep down outweighs a first place
    shallow = rrf_fuse([vector, text], key="id", k=8, depth=2)
    assert [r["id"] for r in shallow][:4] == ["v1", "t1", "x", "y"]
    assert [r["id"] for r in shallow][4] == "mid"  # below the depth: after, by the full sums
    assert len(shallow) == 7 and shallow[4]["_score"] == 0.0 < shallow[3]["_score"]


def test_maintain_builds_indexes_and_compacts(notes_db, monkeypatch):
    monkeypatch.setattr(store_module, "VECTOR_INDEX_MIN_ROWS", 300)
    store = Store.open(notes_db, MIGRATIONS)
    for first in range(0, 600, 50):
        store.add(NOTES.name, [{"id": f"k{i}", "text": f"note number {i}", "n": i,
                                "vector": _unit(i)} for i in range(first, first + 50)])
    versions = len(store.table(NOTES.name).list_versions())
    fragments = store.table(NOTES.name).stats()["fragment_stats"]["num_fragments"]
    store.maintain()
    indexed = {c for i in store.table(NOTES.name).list_indices() for c in i.columns}
    assert {"text", "id", "vector"} <= indexed
    assert store.table(NOTES.name).stats()["fragment_stats"]["num_fragments"] < fragments / 4
    assert store.search_vector(NOTES.name, _unit(123), 1)[0]["id"] == "k123"
    assert store.search_text(NOTES.name, "123", 1)[0]["id"] == "k123"
    assert len(store.table(NOTES.name).list_versions()) >= versions  # safety window kept


def test_library_errors_become_store_errors(notes_db):
    store = Store.open(notes_db, MIGRATIONS)
    with pytest.raises(StoreError, match="no_such_table"):
        store.rows("no_such_table")
    with pytest.raises(StoreError, match="Could not delete"):
        store.delete(NOTES.name, "no_such_column = 1")


def test_concurrent_upserts_of_the_same_keys_never_duplicate(notes_db):
    """lancedb#2463: overlapping merge_insert calls duplicate rows unless writes are serialised."""
    Store.open(notes_db, MIGRATIONS)
    stores = [Store.open(notes_db, MIGRATIONS) for _ in range(3)]  # separate connections
    errors: list[BaseException] = []

    def writer(store: Store, seed: int) -> None:
        try:
            for round_ in range(6):
                store.upsert(NOTES.name, [{"id": f"k{i}", "text": f"w{seed} r{round_}", "n": i,
                                           "vector": _unit(i)} for i in range(20)])
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s, n)) for n, s in enumerate(stores)]
    script = (
        "import sys; from pathlib import Path; import numpy as np\n"
        "from tests.store.test_store import MIGRATIONS, NOTES, _unit\n"
        "from assistant.store import Store\n"
        "s = Store.open(Path(sys.argv[1]), MIGRATIONS)\n"
        "for r in range(6):\n"
        "    s.upsert(NOTES.name, [{'id': f'k{i}', 'text': f'p r{r}', 'n': i,"
        " 'vector': _unit(i)} for i in range(20)])\n"
    )
    other = subprocess.Popen([sys.executable, "-c", script, str(notes_db)],
                             cwd=Path(__file__).parents[2])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other.wait(timeout=120) == 0
    assert not errors
    ids = [r["id"] for r in Store.open(notes_db, MIGRATIONS).rows(NOTES.name, columns=["id"])]
    assert sorted(ids) == sorted(f"k{i}" for i in range(20))


def test_rrf_ties_go_to_the_surer_list():
    vector = [{"id": "near"}, {"id": "exact"}]
    text = [{"id": "exact"}, {"id": "near"}]
    # The full-text search is far surer of "exact" than the vector search is of "near".
    fused = rrf_fuse([vector, text], key="id", k=2, strengths=[[1.0, 0.98], [1.0, 0.2]])
    assert [r["id"] for r in fused] == ["exact", "near"]
