"""Answers on their way to their first token, so that loading knowledge can let them go first.

At start-up the store and the embedder load beside the first answer: importing LanceDB and torch
takes seconds of CPU, and on a small machine it slows down reading the first answer's prompt
(0.1 s of the embedded model's 0.9 s to a first token on 2 cores, more for a larger model).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StartingAnswers:
    """Counts the answers that have not given their first token yet."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    @contextmanager
    def answer(self) -> Iterator[Callable[[], None]]:
        """Count one answer while inside; call what it yields at the first token (or leave)."""
        with self._changed:
            self._count += 1
        started = False

        def start() -> None:
            nonlocal started
            if not started:
                started = True
                with self._changed:
                    self._count -= 1
                    self._changed.notify_all()

        try:
            yield start
        finally:
            start()

    def wait(self, timeout: float) -> bool:
        """Wait until no answer is before its first token, at most ``timeout`` seconds; whether
        none is."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)
