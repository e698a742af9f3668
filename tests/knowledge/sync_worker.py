"""A separate process syncing one folder: killed by the crash test, raced in the concurrency one.

Usage: python -m tests.knowledge.sync_worker DB_DIR FOLDER [BATCH_CHUNKS]
"""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.knowledge import Embedder, Indexer, Progress
from assistant.knowledge import indexer as indexer_module
from assistant.migrations import open_database


def main() -> None:
    """Load the embedder, say "ready", sync with a line per file done, say "done"."""
    if len(sys.argv) > 3:
        indexer_module.BATCH_CHUNKS = int(sys.argv[3])  # small batches: many commits to die in
    embedder = Embedder()
    store = open_database(Path(sys.argv[1]))
    print("ready", flush=True)
    Indexer(store, embedder).sync(Path(sys.argv[2]), _report)
    print("done", flush=True)


def _report(progress: Progress) -> None:
    print(f"progress {progress.files_done} {progress.files_total}", flush=True)


if __name__ == "__main__":
    main()
