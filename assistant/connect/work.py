"""Where the servers run the core's blocking calls: a pool of named threads they own.

Handlers are coroutines on the server's event loop; the core's operations (searching, embedding,
answering) block, so they run here. An answer's events cross back to the loop one by one, and
leaving the loop early (the app hung up) sets the answer's cancel flag, so generation stops at
the next token.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio

T = TypeVar("T")
WORKERS = 4
_END = object()


class Workers:
    """A thread pool (``loremind-connect-N``) for the core's calls; ``close`` stops it."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="loremind-connect")
        self._cancels: set[threading.Event] = set()
        self._lock = threading.Lock()

    async def call(self, work: Callable[[], T]) -> T:
        """``work()`` on a worker thread, awaited."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def stream(self, events: Callable[[], Iterator[T]],
                     cancel: threading.Event) -> AsyncGenerator[T, None]:
        """The items of ``events()`` (iterated on a worker thread) as they come; leaving early
        sets ``cancel`` and waits for the worker to finish the iteration."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()

        def hand(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone (server stopped): nobody is listening
                cancel.set()

        def run() -> None:
            try:
                for item in events():
                    hand(item)
            except BaseException as exc:  # raised again on the loop, in the handler
                hand(exc)
            finally:
                hand(_END)

        with self._lock:
            self._cancels.add(cancel)
        done = loop.run_in_executor(self._pool, run)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            cancel.set()
            with self._lock:
                self._cancels.discard(cancel)
            # Starlette cancels a stream whose app hung up, and that cancellation re-raises at
            # every await in its scope: shielded, the worker's last steps are waited for.
            with anyio.CancelScope(shield=True):
                await done

    def stop_answers(self) -> None:
        """Stop every answer in progress at its next token."""
        with self._lock:
            for cancel in self._cancels:
                cancel.set()

    def close(self) -> None:
        """Stop answers in progress and wait for the threads."""
        self.stop_answers()
        self._pool.shutdown(wait=True, cancel_futures=True)
