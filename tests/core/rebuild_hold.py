"""Hold a rebuild for another embedder half-way, through the scheduler's own announcements.

The rebuild reports its progress after every batch it stores; a subscriber that waits inside
that report keeps the job (on the background lane) from going on until released, so a test
sees the index as it is half-way, deterministically, however fast the embedder is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

HOLD_S = 120.0  # a test that fails never leaves the lane held longer than this


def half_way(progress: Any) -> bool:
    """Some passages are in the new tables, not all."""
    return bool(0 < progress.chunks_done < progress.chunks_total)


class RebuildHold:
    """Waits inside the rebuild's first progress report that ``when`` accepts (by default, with
    some but not all passages done)."""

    def __init__(self, scheduler: Any, when: Callable[[Any], bool] = half_way) -> None:
        self.when = when
        self.reached = threading.Event()
        self.progress: Any = None
        self._release = threading.Event()
        self._unsubscribe = scheduler.subscribe(self._seen)

    def _seen(self, job: Any) -> None:
        progress = job.progress
        if (self.reached.is_set() or not job.owner.startswith("embedder:")
                or threading.current_thread().name != "loremind-background"
                or progress is None or not self.when(progress)):
            return
        self.progress = progress
        self.reached.set()
        self._release.wait(HOLD_S)

    def wait(self, timeout: float = 120.0) -> Any:
        """Block until the rebuild is held; its progress then."""
        assert self.reached.wait(timeout), "the rebuild never got half-way"
        return self.progress

    def release(self) -> None:
        """Let the rebuild go on (and never hold it again)."""
        self._unsubscribe()
        self._release.set()
