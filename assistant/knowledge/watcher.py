"""Follow watched folders in a background thread: debounced events, then a targeted sync.

Events are only hints ("this path is dirty"): queues can overflow and moves can arrive as a
create plus a delete, so each burst ends in a sync of the dirty paths (size/mtime, then hash),
and a full reconciling scan runs at start-up and every ``reconcile_s`` seconds.

The watcher's own thread only collects and debounces; with ``submit`` (what the core passes)
each sync runs as a job of the core's scheduler, owned by its folder, so it yields to answers,
stops within a second when the folder is removed, and never runs beside another sync.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from assistant.errors import LoremindError
from assistant.knowledge.indexer import Indexer, SyncReport
from assistant.work import WorkCancelled

log = logging.getLogger(__name__)

RELEVANT_EVENTS = {"created", "modified", "moved", "deleted", "closed"}  # not opened/no-write


class _DirtyPaths(FileSystemEventHandler):
    """Collects the paths events mention; the watcher thread drains them."""

    def __init__(self, watcher: FolderWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in RELEVANT_EVENTS:
            return
        if event.is_directory and event.event_type == "modified":
            return  # a file inside changed: that file has its own event
        paths = [event.src_path, getattr(event, "dest_path", "")]
        self._watcher.mark_dirty([Path(str(p)) for p in paths if p])


class SyncJob(Protocol):
    """A sync running elsewhere (a scheduler's job): waited on, cancelled, its report read."""

    def wait(self, timeout: float | None = None) -> bool: ...
    def cancel(self) -> None: ...
    def result(self, timeout: float | None = None) -> Any: ...


SubmitSync = Callable[[Path, "list[Path] | None"], SyncJob]


class FolderWatcher:
    """Keeps the index of some folders current while it runs."""

    def __init__(self, indexer: Indexer, folders: list[Path], debounce_s: float = 0.75,
                 reconcile_s: float = 600.0,
                 on_sync: Callable[[Path, SyncReport], None] | None = None,
                 on_error: Callable[[Exception], None] | None = None,
                 submit: SubmitSync | None = None) -> None:
        self.indexer = indexer
        self.submit = submit  # None: sync on the watcher's own thread
        self.folders = [Path(f).expanduser().resolve() for f in folders]
        self.debounce_s = debounce_s
        self.reconcile_s = reconcile_s
        self.on_sync = on_sync
        self.on_error = on_error
        self._dirty: set[Path] = set()
        self._last_event = 0.0
        self._busy = False
        self._changed = threading.Condition()
        self._stopping = False
        self._observer = Observer()
        self._observer.name = "loremind-folder-events"
        self._job: SyncJob | None = None
        self._thread = threading.Thread(target=self._run, name="loremind-watcher", daemon=True)

    def start(self) -> FolderWatcher:
        """Watch the folders and reconcile them once, in the background."""
        handler = _DirtyPaths(self)
        for folder in self.folders:
            self._observer.schedule(handler, str(folder), recursive=True)
        self._observer.start()
        self._busy = True  # until the start-up reconcile is done, so wait_idle() waits for it
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop watching; a sync in progress is cancelled (it stops at its next checkpoint)."""
        with self._changed:
            self._stopping = True
            job = self._job
            self._changed.notify_all()
        if job is not None:
            job.cancel()
        self._observer.stop()
        self._observer.join(timeout)
        self._thread.join(timeout)

    def __enter__(self) -> FolderWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def mark_dirty(self, paths: list[Path]) -> None:
        """Note paths that may have changed; they are synced once events go quiet."""
        wanted = [p for p in paths if self._folder_of(p) is not None
                  and not self.indexer.rules.ignores(p, self._folder_of(p) or p)]
        if not wanted:
            return
        with self._changed:
            self._dirty.update(wanted)
            self._last_event = time.monotonic()
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is dirty or syncing (True), or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._dirty or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.1))
        return True

    def _folder_of(self, path: Path) -> Path | None:
        for folder in self.folders:
            if path == folder or folder in path.parents:
                return folder
        return None

    def _run(self) -> None:
        self._sync_all()
        next_reconcile = time.monotonic() + self.reconcile_s
        while True:
            with self._changed:
                while not self._stopping and (
                    not self._dirty or time.monotonic() - self._last_event < self.debounce_s
                ):
                    if time.monotonic() >= next_reconcile:
                        break
                    self._changed.wait(self.debounce_s / 3)
                if self._stopping:
                    return
                dirty, self._dirty = self._dirty, set()
                self._busy = True
            try:
                if dirty:
                    self._sync_paths(dirty)
                elif time.monotonic() >= next_reconcile:
                    self._sync_all()
                    next_reconcile = time.monotonic() + self.reconcile_s
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _sync_all(self) -> None:
        with self._changed:
            self._busy = True
        try:
            for folder in self.folders:
                self._sync(folder, None)
        finally:
            with self._changed:
                self._busy = False
                self._changed.notify_all()

    def _sync_paths(self, dirty: set[Path]) -> None:
        by_folder: dict[Path, list[Path]] = {}
        for path in dirty:
            folder = self._folder_of(path)
            if folder is not None:
                by_folder.setdefault(folder, []).append(path)
        for folder, paths in by_folder.items():
            self._sync(folder, None if folder in paths else paths)

    def _sync(self, folder: Path, paths: list[Path] | None) -> None:
        try:
            report = self._run_sync(folder, paths)
            if report is None:
                return  # cancelled: the folder was removed, or the watching stopped
        except LoremindError as exc:
            log.warning("Could not sync %s: %s", folder, exc)
            if self.on_error:
                self.on_error(exc)
            return
        except Exception as exc:  # noqa: BLE001 - a bug in one sync must not end the watching
            log.exception("Unexpected failure while syncing %s", folder)
            if self.on_error:
                self.on_error(exc)
            return
        if self.on_sync and report.changed:
            self.on_sync(folder, report)

    def _run_sync(self, folder: Path, paths: list[Path] | None) -> SyncReport | None:
        """One sync, here or as a job; None when it was stopped before it ended."""
        if self.submit is None:
            here = self.indexer.sync(folder, only=paths)
            if paths is None and here.changed:
                self.indexer.store.maintain()  # after a full reconcile: compact, fold in indexes
            return here
        with self._changed:
            if self._stopping:
                return None
            job = self._job = self.submit(folder, paths)
        try:
            job.wait()
            try:
                report: SyncReport = job.result()
            except WorkCancelled:
                return None
            return None if report.cancelled else report
        finally:
            with self._changed:
                self._job = None
