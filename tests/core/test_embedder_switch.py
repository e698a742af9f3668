"""Switching the embedder through the core: the index is rebuilt in the background while the old
embedder answers, a stopped rebuild resumes where it was, what changes meanwhile is caught up,
and memories and chats are searchable after the swap. Real LanceDB, the real all-MiniLM-L6-v2,
and a tiny generated BERT GGUF on llama.cpp as the new embedder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.bench.synthetic_retrieval import write_tiny_embedder
from assistant.config import Settings, load_settings
from assistant.core import JobState, Loremind, WorkCancelled
from assistant.defaults import EMBEDDER_NAME
from assistant.engine import LocalModel
from assistant.knowledge.rebuild import Plan
from assistant.migrations import open_database
from assistant.paths import app_paths
from tests.core.rebuild_hold import RebuildHold
from tests.knowledge.helpers import assert_consistent

TOPICS = ("The boiler's pilot flame needs a clean thermocouple to stay lit.",
          "Bleed the radiators each autumn, starting with the one nearest the pump.",
          "The expansion vessel should read one bar when the system is cold.",
          "Sourdough starter wants feeding twice a day while the kitchen is warm.",
          "A bicycle chain lasts longer when it is cleaned and oiled every month.")
NOTES = 150  # one passage each: three batches of the rebuild


def write_notes(folder: Path, count: int = NOTES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        text = f"Note {n}. {TOPICS[n % len(TOPICS)]} {TOPICS[(n + 2) % len(TOPICS)]}"
        (folder / f"note-{n:03}.txt").write_text(text, encoding="utf-8")


def open_core(model, embedder, store=None, settings: Settings | None = None) -> Loremind:
    settings = settings or Settings()
    settings.generation.max_tokens = 8
    return Loremind(app_paths(), settings, model=model, embedder=embedder,
                    store=store or open_database(app_paths().ensure()))


@pytest.fixture
def model(tiny_model_path):
    loaded = LocalModel.load(tiny_model_path, context_size=512)
    yield loaded
    loaded.close()


@pytest.fixture
def tiny_embedder(tmp_path) -> Path:
    return write_tiny_embedder(tmp_path / "tiny-embedder.gguf")


@pytest.fixture
def core(model, embedder, store, tmp_path):
    """A core on the built-in embedder with notes indexed, a memory and a chat."""
    core = open_core(model, embedder, store)
    write_notes(tmp_path / "notes")
    core.knowledge.index(tmp_path / "notes")
    core.memory.remember("My cat is called Ziggy and she hates the vacuum cleaner")
    list(core.chat.ask(core.chat.new_session(), "How do I bleed a radiator?"))
    return core


def vector_lengths(store, table: str) -> set[int]:
    return {len(row["vector"]) for row in store.rows(table, columns=["vector"])}


def test_the_rebuild_runs_beside_the_live_index_then_swaps_in(core, store, tiny_embedder):
    hold = RebuildHold(core.scheduler)
    job = core.knowledge.use_embedder(str(tiny_embedder))
    assert job is not None and job.owner == "embedder:tiny-embedder"
    try:
        progress = hold.wait()
        # Half-way: searches, memories and chats still use the old embedder and its tables.
        assert progress.chunks_total == NOTES and 0 < progress.chunks_done < NOTES
        assert "Rebuilding the index for tiny-embedder" in core.knowledge.rebuild_text()
        assert store.get_meta("embedder") == EMBEDDER_NAME and store.vector_dim == 384
        assert core.parts.embedder.name == EMBEDDER_NAME
        results = core.knowledge.search("thermocouple pilot flame")
        assert results and "thermocouple" in results[0].text
        assert core.memory.search("what is my cat called")[0].text.startswith("My cat")
        assert core.chat.search("radiator")
        assert vector_lengths(store, "chunks") == {384}
        assert core.knowledge.status()["rebuilding"]["chunks_done"] == progress.chunks_done
    finally:
        hold.release()
    core.knowledge.wait_rebuild()
    assert job.state is JobState.DONE and not core.knowledge.rebuild_jobs()
    # Swapped: the new embedder's name and vectors everywhere, its shadows now the live tables.
    assert store.get_meta("embedder") == "tiny-embedder" and store.vector_dim == 32
    assert core.parts.embedder.name == "tiny-embedder"
    for table in ("chunks", "memories", "messages"):
        assert vector_lengths(store, table) == {32}, table
    assert store.count("chunks") == NOTES and store.count("messages") == 2
    assert_consistent(store)
    # The tiny model's vectors are random: a note is found by its words (fused with them).
    assert store.search_text("chunks", "thermocouple", 5)
    assert any(r.path.endswith("note-042.txt") for r in core.knowledge.search("42"))
    assert core.memory.search("Ziggy")[0].text.startswith("My cat")
    assert {hit.role for hit in core.chat.search("radiator")} >= {"user"}
    indexed = {c for index in store.table("chunks").list_indices() for c in index.columns}
    assert indexed >= {"text", "heading", "path", "folder"}, "the new table's indexes were built"
    tables = store._db.list_tables().tables
    assert not [t for t in tables if t in ("chunks", "memories", "messages")], "old tables dropped"
    assert Plan.recorded(store) is None and core.knowledge.rebuild_progress is None


def test_a_stopped_rebuild_resumes_and_embeds_only_what_it_had_not(core, model, embedder, store,
                                                                   tiny_embedder):
    hold = RebuildHold(core.scheduler)
    job = core.knowledge.use_embedder(str(tiny_embedder))
    try:
        hold.wait()
        core.knowledge.stop_rebuild()
    finally:
        hold.release()
    with pytest.raises(WorkCancelled):
        core.knowledge.wait_rebuild()
    assert job.state is JobState.CANCELLED
    assert store.get_meta("embedder") == EMBEDDER_NAME  # the old index goes on answering
    assert core.knowledge.search("sourdough starter")
    plan = Plan.recorded(store)
    assert plan is not None and plan.name == "tiny-embedder"
    done = store.count(f"chunks__{plan.tag}")
    assert 0 < done < NOTES
    core.close()

    # The app starts again: loading the knowledge resumes the rebuild from its shadow tables.
    again = open_core(model, embedder, settings=load_settings(app_paths().config_file))
    again.load_knowledge()
    assert again.knowledge.rebuild_jobs(), "the rebuild resumed"
    again.knowledge.wait_rebuild()
    new = again.parts.embedder
    assert new.name == "tiny-embedder" and Plan.recorded(again.parts.store) is None
    # Every passage it had stored was kept: only the rest, the memory and the two messages.
    assert new.calls == NOTES - done + 1 + 2
    assert again.parts.store.count("chunks") == NOTES
    assert_consistent(again.parts.store)


def test_changes_made_during_the_rebuild_are_caught_up_before_the_swap(core, store, tmp_path,
                                                                       tiny_embedder):
    folder = tmp_path / "notes"
    gone = core.chat.list()[0]
    changes: list[str] = []
    core.changes.subscribe(lambda change: changes.append(change.action))
    def messages_copied(_progress) -> bool:  # every passage is in the new tables, and the chats
        plan = Plan.recorded(store)
        return plan is not None and store.count(f"messages__{plan.tag}") == 2

    hold = RebuildHold(core.scheduler, messages_copied)
    core.knowledge.use_embedder(str(tiny_embedder))
    try:
        hold.wait()
        (folder / "new-note.txt").write_text("The quokka enclosure is cleaned on Tuesdays.")
        (folder / "note-000.txt").unlink()
        sync = core.knowledge.start_indexing(folder)  # waits behind the rebuild, which yields
        core.memory.remember("The spare key hangs behind the barometer")
        core.chat.delete(gone.id)
    finally:
        hold.release()
    core.knowledge.wait_rebuild()
    assert sync.result().added == 1 and sync.result().removed == 1
    assert changes.index("indexed") < changes.index("embedder"), "the sync went first"
    assert store.get_meta("embedder") == "tiny-embedder"
    assert vector_lengths(store, "chunks") == {32}
    assert any("quokka" in r.text for r in core.knowledge.search("quokka enclosure"))
    assert store.count("chunks", "path LIKE '%note-000.txt'") == 0
    assert_consistent(store)
    assert core.memory.search("spare key barometer")[0].text.startswith("The spare key")
    assert not core.chat.search("bleed a radiator")  # the deleted chat is gone
    # ...and no copy of it is left in the database's files (the shadow was purged too).
    for file in Path(store.db_dir).rglob("*"):
        if file.is_file():
            assert b"How do I bleed a radiator" not in file.read_bytes(), file


def test_switching_back_to_the_built_in_embedder_works_the_same_way(core, store, tiny_embedder):
    core.knowledge.use_embedder(str(tiny_embedder))
    core.knowledge.wait_rebuild()
    assert core.knowledge.use_embedder(str(tiny_embedder)) is None  # in use already
    started = time.monotonic()
    assert core.knowledge.use_embedder("builtin") is not None
    core.knowledge.wait_rebuild()
    assert time.monotonic() - started < 300
    assert store.get_meta("embedder") == EMBEDDER_NAME and store.vector_dim == 384
    assert core.current_settings.knowledge.embedder == ""
    for table in ("chunks", "memories", "messages"):
        assert vector_lengths(store, table) == {384}, table
    assert "thermocouple" in core.knowledge.search("thermocouple pilot flame")[0].text


def test_a_choice_that_is_no_embedder_is_refused_with_what_to_do(core, tiny_model_path):
    from assistant.errors import ModelError

    with pytest.raises(ModelError, match="not downloaded yet"):
        core.knowledge.use_embedder("bge-small-en-v1.5")
    with pytest.raises(ModelError, match="neither"):
        core.knowledge.use_embedder("/nowhere/model.gguf")
    with pytest.raises(ModelError, match="not an embedding model|embedding"):
        core.knowledge.use_embedder(str(tiny_model_path))  # a chat model
    assert core.current_settings.knowledge.embedder == "" and not core.knowledge.rebuild_jobs()
