"""The single write path: one re-entrant lock per database, shared by threads and processes.

LanceDB silently duplicates rows when two ``merge_insert`` calls on the same keys overlap
(lancedb#2463), so every write - from the background lane, the GUI or a CLI run in another
process - happens while holding this lock: a thread lock inside the process, and across
processes an OS file lock through ``filelock`` (``fcntl`` on Linux and macOS, ``msvcrt`` on
Windows), so nothing here is POSIX-only.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from filelock import FileLock

from assistant.errors import StoreError

_REGISTRY_GUARD = threading.Lock()
_REGISTRY: dict[Path, _SharedLock] = {}


class _SharedLock:
    """Process-wide state for one lock file: the thread lock, the nesting depth, the file lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.thread_lock = threading.RLock()
        self.depth = 0
        # One process-wide lock object: the thread lock above already orders the threads.
        self.file_lock = FileLock(str(path), thread_local=False)


class WriteLock:
    """Exclusive, re-entrant write access to one database, across threads and processes."""

    def __init__(self, lock_file: Path) -> None:
        key = lock_file.absolute()
        with _REGISTRY_GUARD:
            self._shared = _REGISTRY.setdefault(key, _SharedLock(key))

    def __enter__(self) -> WriteLock:
        shared = self._shared
        shared.thread_lock.acquire()
        if shared.depth == 0:
            try:
                shared.file_lock.acquire()
            except OSError as exc:
                shared.thread_lock.release()
                raise StoreError(
                    f"Cannot lock the database for writing ({shared.path}): {exc}. "
                    "Check that the data folder is writable."
                ) from exc
        shared.depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shared = self._shared
        shared.depth -= 1
        if shared.depth == 0:
            shared.file_lock.release()
        shared.thread_lock.release()
