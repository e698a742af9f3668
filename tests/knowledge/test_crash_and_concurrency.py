"""SIGKILL at random moments converges; concurrent writers never lose or duplicate rows."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.knowledge import FolderWatcher, Indexer
from assistant.migrations import open_database
from assistant.store import DOCUMENTS, Store
from tests.knowledge.helpers import assert_consistent

ROOT = Path(__file__).parents[2]
WORDS = "river mountain printer garden network bread engine harbour winter library".split()


def _write(folder: Path, name: str, rng: random.Random, paragraphs: int = 3) -> None:
    text = "\n\n".join(" ".join(rng.choices(WORDS, k=60)) + "." for _ in range(paragraphs))
    (folder / name).write_text(f"# {name}\n\n{text}\n")


def _worker(db: Path, folder: Path, batch: int = 4) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.knowledge.sync_worker", str(db), str(folder), str(batch)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )


def _kill_during_sync(worker: subprocess.Popen[str], rng: random.Random) -> bool:
    """SIGKILL the worker after a random number of files, a random instant later."""
    assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    kill_at = None
    for line in worker.stdout:
        if line.startswith("done"):
            break
        _, done, total = line.split()
        if int(done) >= int(total):
            continue  # the final report: nothing left to interrupt
        if kill_at is None:
            kill_at = rng.randint(int(done), int(total) - 1)
        if int(done) >= kill_at:
            time.sleep(rng.uniform(0, 0.05))  # inside the next parse, embed or write
            worker.send_signal(signal.SIGKILL)
            break
    worker.wait()
    return worker.returncode == -signal.SIGKILL


def _all_indexed(store: Store, folder: Path) -> None:
    on_disk = {str(p) for p in folder.rglob("*.md")}
    docs = {r["path"]: r["status"] for r in store.rows(DOCUMENTS.name)}
    assert set(docs) == on_disk
    assert set(docs.values()) == {"indexed"}


def test_sigkill_at_random_points_then_rerun_converges(tmp_path, embedder, docs):
    rng = random.Random(int(os.environ.get("LOREMIND_CRASH_SEED", "4")))
    db = tmp_path / "db"
    for n in range(24):
        _write(docs, f"doc{n:02d}.md", rng)
    killed_mid_run = 0
    for round_ in range(4):
        killed_mid_run += _kill_during_sync(_worker(db, docs), rng)
        # Change the folder between runs: the next run must also clean up after the last one.
        for n in range(3):
            _write(docs, f"doc{3 * round_ + n:02d}.md", rng, paragraphs=2)
        os.rename(docs / f"doc{20 + round_:02d}.md", docs / f"renamed{round_}.md")
        (docs / f"doc{12 + round_:02d}.md").unlink()
        _write(docs, f"new{round_}.md", rng)
    assert killed_mid_run >= 3, "the kills should land while the sync is running"
    store = open_database(db)
    Indexer(store, embedder).sync(docs)
    assert_consistent(store)
    _all_indexed(store, docs)


def test_watcher_and_other_writers_at_once(tmp_path, embedder, docs):
    rng = random.Random(9)
    db = tmp_path / "db"
    for n in range(12):
        _write(docs, f"doc{n:02d}.md", rng)
    watcher_store, other_store = open_database(db), open_database(db)
    with FolderWatcher(Indexer(watcher_store, embedder), [docs], debounce_s=0.2) as watcher:
        process = _worker(db, docs, batch=8)  # a CLI run in another process
        for n in range(12, 24):  # the user keeps saving files meanwhile
            _write(docs, f"doc{n:02d}.md", rng)
            if n % 4 == 0:
                Indexer(other_store, embedder).sync(docs)  # and the GUI syncs too
            time.sleep(0.05)
        assert process.wait(timeout=300) == 0
        assert watcher.wait_idle(timeout=120)
    store = open_database(db)
    assert_consistent(store)  # with no repairing sync afterwards: nothing lost, nothing doubled
    _all_indexed(store, docs)
