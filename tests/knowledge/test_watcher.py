"""The watcher follows creates, edits, atomic saves, moves and deletes within a bounded time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from assistant.knowledge import FolderWatcher
from assistant.store import CHUNKS, DOCUMENTS
from tests.knowledge.helpers import assert_consistent

BOUND_S = 15.0


def eventually(check: Callable[[], bool], timeout: float = BOUND_S) -> None:
    """Poll ``check`` until it holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"the store did not follow within {timeout} s")
        time.sleep(0.1)


@pytest.fixture
def watching(indexer, docs):
    """A running watcher over ``docs`` with a short debounce."""
    with FolderWatcher(indexer, [docs], debounce_s=0.3) as watcher:
        assert watcher.wait_idle(timeout=30)
        yield watcher


def test_watcher_follows_the_folder(watching, store, embedder, docs):
    def names() -> set[str]:
        return {os.path.relpath(r["path"], docs) for r in store.rows(DOCUMENTS.name)}

    def text_of(name: str) -> str:
        rows = store.rows(CHUNKS.name, where=f"path = '{docs / name}'", columns=["text"])
        return " ".join(r["text"] for r in rows)

    (docs / "note.md").write_text("# Note\n\nFirst version about rivers.")
    eventually(lambda: "rivers" in text_of("note.md"))

    (docs / "note.md").write_text("# Note\n\nSecond version about lakes.")
    eventually(lambda: "lakes" in text_of("note.md"))

    # An editor's atomic save: write a temporary file, then rename it over the original.
    (docs / "note.md.tmp").write_text("# Note\n\nThird version about oceans.")
    os.replace(docs / "note.md.tmp", docs / "note.md")
    eventually(lambda: "oceans" in text_of("note.md"))

    calls = embedder.calls
    (docs / "archive").mkdir()
    os.rename(docs / "note.md", docs / "archive" / "moved.md")
    eventually(lambda: names() == {"archive/moved.md"})
    assert watching.wait_idle(timeout=BOUND_S)
    assert embedder.calls == calls, "a move must not re-embed"

    (docs / ".hidden.md").write_text("never indexed")
    (docs / "archive" / "moved.md").unlink()
    eventually(lambda: names() == set())
    assert watching.wait_idle(timeout=BOUND_S)
    assert store.count(CHUNKS.name) == 0
    assert_consistent(store)


def test_a_burst_is_debounced_into_few_syncs(indexer, docs):
    syncs = []
    with FolderWatcher(indexer, [docs], debounce_s=0.5,
                       on_sync=lambda folder, report: syncs.append(report)) as watcher:
        assert watcher.wait_idle(timeout=30)
        for n in range(30):  # like a git checkout
            (docs / f"file{n}.txt").write_text(f"File number {n} about topic {n % 3}.")
        time.sleep(0.6)
        assert watcher.wait_idle(timeout=60)
    assert sum(r.added for r in syncs) == 30
    assert len(syncs) <= 3
