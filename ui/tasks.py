"""Background work for the GUI, in anki's QueryOp shape: run off the main thread, report back on it.

Work runs on named single-thread lanes: ``model`` owns llama.cpp (not thread-safe: loading,
adapters, generation), ``db`` does database reads and writes in order, ``index`` runs long
indexing so it never holds up a chat, ``download`` fetches models. Results and progress reach
the main thread through one queued signal carrying a closure; nothing touches a widget from a
worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ui.qt import QObject, Qt, QWidget, Signal

log = logging.getLogger(__name__)
T = TypeVar("T")
LANES = ("model", "db", "index", "download")


class TaskManager(QObject):
    """The app's worker lanes; ``post`` runs a closure on the main thread from anywhere."""

    _closure = Signal(object)
    busy_changed = Signal(str, bool)  # lane, whether it has work

    def __init__(self) -> None:
        super().__init__()
        self._lanes = {name: ThreadPoolExecutor(1, thread_name_prefix=f"loremind-{name}")
                       for name in LANES}
        self._pending = dict.fromkeys(LANES, 0)
        self._cancels: set[threading.Event] = set()
        self._closed = False
        self._closure.connect(self._run_closure, Qt.ConnectionType.QueuedConnection)

    def run(self, lane: str, work: Callable[[], T],
            on_done: Callable[[Future[T]], None] | None = None) -> Future[T]:
        """Run ``work`` on ``lane``; ``on_done(future)`` then runs on the main thread."""
        if self._closed:
            raise RuntimeError("The task manager was shut down.")
        future = self._lanes[lane].submit(work)
        self._change_pending(lane, +1)

        def finished(done: Future[T]) -> None:
            def report() -> None:
                self._change_pending(lane, -1)
                if on_done is not None and not done.cancelled():
                    on_done(done)
            self.post(report)

        future.add_done_callback(finished)
        return future

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
        return self._pending[lane] > 0

    def shutdown(self) -> None:
        """Cancel what can be cancelled, drop queued work and wait for running work to end."""
        for cancel in list(self._cancels):
            cancel.set()
        self._closed = True
        for executor in self._lanes.values():
            executor.shutdown(wait=True, cancel_futures=True)

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
        error = future.exception()
        if error is None:
            self.success(future.result())
            return
        if not isinstance(error, Exception):
            raise error
        if self.failure is not None:
            self.failure(error)
            return
        from ui.errors import show_error

        show_error(self.parent, error)
