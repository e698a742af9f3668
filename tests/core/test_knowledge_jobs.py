"""Indexing as the core's jobs: a stop takes effect within a file, a removed folder leaves no
row behind, and a store left by an older version heals when it opens."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.core import JobState, Loremind, WorkCancelled
from assistant.engine import LocalModel
from assistant.knowledge.indexer import Indexer
from assistant.migrations import open_database
from assistant.paths import app_paths
from tests.knowledge.helpers import assert_consistent

SENTENCES = ("The boiler's pilot flame needs a clean thermocouple to stay lit. ",
             "Error E27 means the flame went out three times within an hour. ",
             "Bleed the radiators each autumn, starting with the one nearest the pump. ",
             "The expansion vessel should read one bar when the system is cold. ")


def write_manual(path: Path, size: int) -> None:
    """A text file of about ``size`` bytes of varied sentences, in paragraphs."""
    parts, total, n = [], 0, 0
    while total < size:
        paragraph = f"Section {n}. " + "".join(SENTENCES[(n + i) % 4] for i in range(6))
        parts.append(paragraph)
        total += len(paragraph) + 2
        n += 1
    path.write_text("\n\n".join(parts), encoding="utf-8")


@pytest.fixture
def core(tiny_model_path, embedder, store):
    model = LocalModel.load(tiny_model_path, context_size=512)
    settings = Settings()
    settings.generation.max_tokens = 8
    core = Loremind(app_paths(), settings, model=model, embedder=embedder, store=store)
    yield core
    core.close()
    model.close()


def wait_for_chunks(job, at_least: int, timeout: float = 120.0) -> None:
    started = time.monotonic()
    while not (job.progress is not None and job.progress.chunks_done >= at_least):
        assert not job.ended, "the job ended before it got that far"
        assert time.monotonic() - started < timeout
        time.sleep(0.05)


def test_a_stop_inside_a_large_file_takes_effect_long_before_the_file_is_done(core, tmp_path):
    folder = tmp_path / "manuals"
    folder.mkdir()
    write_manual(folder / "boiler.txt", 2_000_000)  # minutes of embedding on two cores
    job = core.knowledge.start_indexing(folder)
    wait_for_chunks(job, 1)  # the first batch of the file is stored: we are inside it
    asked = time.monotonic()
    job.cancel()
    assert job.state in (JobState.STOPPING, JobState.DONE)
    assert job.wait(10), "the stop waited for the file in hand"
    took = time.monotonic() - asked
    report = job.result()
    assert report.cancelled and took < 10
    store = core.parts.store
    assert store.count("documents", "status = 'indexed'") == 0, "a half-read file is not indexed"
    assert_consistent(store)  # its stored chunks are orphans the next sync removes


def test_removing_a_folder_while_it_indexes_leaves_no_row_of_it(core, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(60):
        write_manual(folder / f"note-{n:02}.txt", 3_000)
    write_manual(folder / "big.txt", 400_000)
    kept = tmp_path / "kept"
    kept.mkdir()
    write_manual(kept / "kept.txt", 2_000)
    core.knowledge.index(kept)
    job = core.knowledge.start_indexing(folder)
    wait_for_chunks(job, 1)
    core.knowledge.remove_folder(folder)
    assert job.ended
    store = core.parts.store
    key = str(folder.resolve())
    assert store.count("documents", f"folder = '{key}'") == 0
    assert store.count("chunks", f"folder = '{key}'") == 0
    assert core.knowledge.folders == [str(kept.resolve())]
    assert store.count("documents", f"folder = '{kept.resolve()}'") == 1
    assert_consistent(store)


def test_a_queued_sync_of_a_removed_folder_never_runs(core, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    write_manual(folder / "a.txt", 400_000)
    other = tmp_path / "other"
    other.mkdir()
    write_manual(other / "b.txt", 2_000)
    first = core.knowledge.start_indexing(folder)
    queued = core.knowledge.start_indexing(other)
    core.knowledge.remove_folder(other)
    assert queued.state is JobState.CANCELLED
    with pytest.raises(WorkCancelled):
        queued.result()
    first.cancel()
    first.wait(10)
    assert core.parts.store.count("documents", f"folder = '{other.resolve()}'") == 0


def test_a_store_holding_an_unwatched_folder_is_cleaned_when_it_opens(embedder, tmp_path):
    paths = app_paths().ensure()
    watched, forgotten = tmp_path / "watched", tmp_path / "forgotten"
    for folder in (watched, forgotten):
        folder.mkdir()
        write_manual(folder / "manual.txt", 2_000)
    store = open_database(paths)
    # An older version went on indexing a folder after it was removed from the settings.
    Indexer(store, embedder).sync(watched)
    Indexer(store, embedder).sync(forgotten)
    assert store.count("documents") == 2
    settings = Settings()
    settings.knowledge.folders = [str(watched.resolve())]
    core = Loremind.open(paths, settings, embedder=embedder)
    status = core.knowledge.status()
    assert status["folders"] == [str(watched.resolve())]
    assert status["documents"] == 1 and status["chunks"] == store.count("chunks")
    assert store.count("chunks", f"folder = '{forgotten.resolve()}'") == 0
    core.close()
