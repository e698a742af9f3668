"""Fan-out to subscribers, on the thread that tells them: the core's changes and its jobs.

A subscriber may unsubscribe from inside its own call, and a failing subscriber is logged and
never stops the others (a front end's bug must not break the core's work)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Fanout(Generic[T]):
    """Subscribers of one kind of news, each called with every later item."""

    def __init__(self, kind: str, describe: Callable[[T], object] = str) -> None:
        self._kind, self._describe = kind, describe  # the news and its name in the log
        self._subscribers: list[Callable[[T], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Callable[[T], None]) -> Callable[[], None]:
        """Call ``subscriber`` with every later item; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def tell(self, item: T) -> None:
        """Call every subscriber with ``item``, on this thread."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(item)
            except Exception:
                log.exception("A %s subscriber failed on %s", self._kind, self._describe(item))
