"""Cooperative control of long work: stop when asked, and step aside while an answer runs.

Work that may take long (indexing a folder, embedding thousands of chunks, an import) runs
under a :class:`Control` and calls :func:`checkpoint` at safe points: between files, between
chunks of a large file, between embedding batches. A checkpoint raises :class:`WorkCancelled`
once the work was cancelled, so a stop takes effect within one batch (well under a second),
not after the file in hand; and while an answer is being read or written (the
:class:`AnswerGate` is held), background work waits there, so on a laptop's few cores the
answer the user is looking at gets the CPU. Code that runs outside any control (a query's
embedding, a test calling a part directly) passes its checkpoints at once.

This module is below every subsystem: the embedder and the indexer call it without knowing
about the core's scheduler, which sets the control of the thread it runs a job on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WorkCancelled(Exception):  # noqa: N818 - a signal to unwind, not an error to show
    """Raised at a checkpoint of work that was cancelled; the scheduler ends the job quietly."""


class AnswerGate:
    """Counts the answers in progress; background work waits at its checkpoints while any is."""

    def __init__(self) -> None:
        self._answers = 0
        self._working = 0  # yielding work running now, not waiting at a checkpoint
        self._held = 0  # held shut (see held_shut): answers wait to start
        self._changed = threading.Condition()

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Hold the gate for the length of one answer (answers may overlap)."""
        with self._changed:
            while self._held:
                self._changed.wait(0.05)
            self._answers += 1
        try:
            yield
        finally:
            with self._changed:
                self._answers -= 1
                self._changed.notify_all()

    @contextmanager
    def held_shut(self) -> Iterator[None]:
        """Hold while no answer may be in progress (the index switching to another embedder,
        under an answer that embedded its question with the old one): waits for the answers in
        progress to end, and answers asked meanwhile wait to start until it is left."""
        with self._changed:
            self._held += 1
            while self._answers:
                self._changed.wait(0.05)
        try:
            yield
        finally:
            with self._changed:
                self._held -= 1
                self._changed.notify_all()

    @property
    def busy(self) -> bool:
        """Whether an answer is in progress."""
        return self._answers > 0

    def wait_clear(self, cancel: threading.Event) -> None:
        """Wait while an answer is in progress; returns early once ``cancel`` is set."""
        with self._changed:
            self._working -= 1
            self._changed.notify_all()
            try:
                while self._answers and not cancel.is_set():
                    # A short wait: a cancel arrives as an Event, not through this condition.
                    self._changed.wait(0.05)
            finally:
                self._working += 1

    @contextmanager
    def working(self) -> Iterator[None]:
        """Count one piece of yielding work as running while inside (the scheduler's lanes)."""
        with self._changed:
            self._working += 1
        try:
            yield
        finally:
            with self._changed:
                self._working -= 1
                self._changed.notify_all()

    def wait_parked(self, timeout: float) -> bool:
        """Wait until all yielding work has stopped at a checkpoint (or ended), at most
        ``timeout`` seconds: an answer then reads its prompt on every core it can get (llama.cpp
        picks its threads from the cores idle at that moment)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._working <= 0, timeout)


class Control:
    """One piece of work's stop flag, and whether it yields to answers at its checkpoints."""

    def __init__(self, cancel: threading.Event | None = None,
                 gate: AnswerGate | None = None) -> None:
        self.cancel_event = cancel or threading.Event()
        self.gate = gate  # None: this work never waits for answers (it is one, or interactive)

    def cancel(self) -> None:
        """Ask the work to stop at its next checkpoint."""
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def checkpoint(self) -> None:
        """Raise WorkCancelled when cancelled; wait first while an answer is in progress."""
        if self.gate is not None and self.gate.busy:
            self.gate.wait_clear(self.cancel_event)
        if self.cancel_event.is_set():
            raise WorkCancelled()


_current = threading.local()


def current_control() -> Control | None:
    """The control of the work running on this thread, if any."""
    return getattr(_current, "control", None)


def checkpoint() -> None:
    """A safe point of long work: stop here if it was cancelled, wait here while an answer runs."""
    control = getattr(_current, "control", None)
    if control is not None:
        control.checkpoint()


@contextmanager
def controlled(control: Control | None) -> Iterator[Control | None]:
    """Run the body under ``control`` on this thread (the previous control comes back after)."""
    previous = getattr(_current, "control", None)
    _current.control = control
    try:
        yield control
    finally:
        _current.control = previous
