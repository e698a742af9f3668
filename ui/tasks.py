"""Background work for the GUI, in anki's QueryOp shape: run off the main thread, report back on it.

The work runs on the core's scheduler (:mod:`assistant.core.scheduler`), which owns every
thread; this is the GUI's side of it. The GUI's lane names map onto the core's lanes: ``model``
(llama.cpp), ``db`` (the interactive lane: quick reads and writes the user waits on),
``index`` (the background lane: long work that yields to answers), ``download``. Results and
progress reach the main thread through one queued signal carrying a closure; nothing touches
a widget from a worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ui.qt import QObject, Qt, QWidget, Signal

if TYPE_CHECKING:
    from assistant.core.scheduler import Scheduler

log = logging.getLogger(__name__)
T = TypeVar("T")
LANES = ("model", "db", "index", "download")
# The core's lane behind each of the GUI's names.
_CORE_LANES = {"model": "model", "db": "interactive", "index": "background",
               "download": "downloads"}


class TaskManager(QObject):
    """The GUI's way onto the core's lanes; ``post`` runs a closure on the main thread."""

    _closure = Signal(object)
    busy_changed = Signal(str, bool)  # lane, whether it has work

    def __init__(self, scheduler: Scheduler) -> None:
        super().__init__()
        self._scheduler = scheduler
        self._pending = dict.fromkeys(LANES, 0)
        self._cancels: set[threading.Event] = set()
        self._closed = False
        self._closure.connect(self._run_closure, Qt.ConnectionType.QueuedConnection)

    def run(self, lane: str, work: Callable[[], T],
            on_done: Callable[[Future[T]], None] | None = None, *,
            owner: str = "window", title: str = "") -> Future[T]:
        """Run ``work`` on ``lane``; ``on_done(future)`` then runs on the main thread."""
        from assistant.core.scheduler import Lane

        if self._closed:
            raise RuntimeError("The task manager was shut down.")
        job = self._scheduler.submit(work, owner=owner, title=title or owner,
                                     lane=Lane(_CORE_LANES[lane]))
        self._change_pending(lane, +1)

        def finished(done: Future[T]) -> None:
            def report() -> None:
                self._change_pending(lane, -1)
                if on_done is not None and not done.cancelled():
                    on_done(done)
            self.post(report)

        job.future.add_done_callback(finished)
        return job.future

    def post(self, closure: Callable[[], Any]) -> None:
        """Run ``closure`` on the main thread soon; safe to call from any thread."""
        if not self._closed:
            self._closure.emit(closure)

    def track(self, cancel: threading.Event) -> None:
        """Remember a cancel flag, so that shutting down stops the work that watches it."""
        self._cancels.add(cancel)

    def untrack(self, cancel: threading.Event) -> None:
        self._cancels.discard(cancel)

    def is_busy(self, lane: str) -> bool:
        """Whether ``lane`` has work: the GUI's own still reporting back, or any of the core's
        (answers, the watcher's syncs, a command line's query)."""
        from assistant.core.scheduler import Lane

        return self._pending[lane] > 0 or self._scheduler.busy(Lane(_CORE_LANES[lane]))

    def shutdown(self) -> None:
        """Cancel what can be cancelled and stop reporting to the main thread (the core's
        ``close`` then stops the lanes themselves)."""
        for cancel in list(self._cancels):
            cancel.set()
        self._closed = True

    def _change_pending(self, lane: str, delta: int) -> None:
        before = self._pending[lane] > 0
        self._pending[lane] += delta
        if before != (self._pending[lane] > 0):
            self.busy_changed.emit(lane, self._pending[lane] > 0)

    def _run_closure(self, closure: Callable[[], Any]) -> None:
        if self._closed:
            return
        try:
            closure()
        except Exception as exc:  # a bug in a callback must not take the event loop down
            from ui.errors import show_error

            show_error(None, exc)


@dataclass
class BackgroundOp(Generic[T]):
    """One piece of background work with a success callback; failures go to ``show_error``.

    ``BackgroundOp(parent, op=lambda: ..., success=...).run(tasks, lane="db")``
    """

    parent: QWidget | None
    op: Callable[[], T]
    success: Callable[[T], None] = field(default=lambda _result: None)
    failure: Callable[[BaseException], None] | None = None

    def run(self, tasks: TaskManager, lane: str = "db") -> Future[T]:
        """Queue the work on ``lane``."""
        return tasks.run(lane, self.op, self._finish)

    def _finish(self, future: Future[T]) -> None:
        from assistant.core import WorkCancelled

        error = future.exception()
        if error is None:
            self.success(future.result())
            return
        if isinstance(error, WorkCancelled):
            return  # stopped on purpose (quitting, a folder removed): nothing to report
        if not isinstance(error, Exception):
            raise error
        if self.failure is not None:
            self.failure(error)
            return
        from ui.errors import show_error

        show_error(self.parent, error)
