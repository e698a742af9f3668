"""The one owner of the core's background work: lanes of worker threads, jobs with an owner.

Every piece of work a front end or the core starts off its own thread is a :class:`Job`: it has
an owner (``folder:/home/me/Notes``, ``chat:3f2a…``, ``maintenance``), a title, a priority,
progress and a cancel flag, and runs on one of four lanes, each a single named thread:

- ``model``: llama.cpp, which is not thread-safe: answers, model loads, memory extraction;
- ``interactive``: what the user waits on and that is quick: reads for a view, memory edits,
  chat renames, approvals. Long work never runs here, so these never queue behind a sync;
- ``background``: indexing, re-indexing, imports, compaction. Its jobs *yield*: at every
  checkpoint (:mod:`assistant.work`) they wait while an answer is in progress, and stop within
  one embedding batch when cancelled;
- ``downloads``: model downloads (their own process; the lane only waits on it).

Answers hold :meth:`Scheduler.answering` for their whole length, which is what background
checkpoints wait on. Jobs are announced to subscribers whenever they start, report progress,
are asked to stop, or end, so a front end can show "Indexing… 40/300" and "Stopping…".
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, TypeVar

from assistant.core.fanout import Fanout
from assistant.work import AnswerGate, Control, WorkCancelled, controlled

log = logging.getLogger(__name__)
T = TypeVar("T")


class Lane(StrEnum):
    """Where a job runs; each lane is one thread, so its jobs never overlap."""

    MODEL = "model"
    INTERACTIVE = "interactive"
    BACKGROUND = "background"
    DOWNLOADS = "downloads"


class Priority(IntEnum):
    """Which queued job of a lane goes first (lower first)."""

    ANSWER = 0
    INTERACTIVE = 1
    BACKGROUND = 2
    IDLE = 3  # compaction and other upkeep: only when nothing else waits


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"  # asked to stop; ends at its next checkpoint
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


ENDED = (JobState.DONE, JobState.CANCELLED, JobState.FAILED)


@dataclass(eq=False)
class Job:
    """One piece of work, from queued to ended; ``future`` holds its result or error."""

    id: int
    owner: str
    title: str
    lane: Lane
    priority: Priority
    control: Control
    future: Future[Any] = field(default_factory=Future)
    state: JobState = JobState.QUEUED
    progress: Any = None  # what the work last reported (e.g. an indexing Progress)
    submitted_at: float = field(default_factory=time.monotonic)
    ended_at: float | None = None
    work: Callable[[], Any] | None = field(default=None, repr=False)  # dropped once ended
    _scheduler: Scheduler | None = field(default=None, repr=False)

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def cancel(self) -> None:
        """Stop the job: at once if it has not started, else at its next checkpoint."""
        if self._scheduler is not None:
            self._scheduler.cancel_job(self)

    def report(self, progress: Any) -> None:
        """Record how far the job has come, and announce it."""
        self.progress = progress
        if self._scheduler is not None:
            self._scheduler.announce(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (True), or ``timeout`` passes (False)."""
        try:
            self.future.exception(timeout)
        except TimeoutError:
            return False
        except BaseException:  # noqa: BLE001 - a cancelled future: it has ended all the same
            pass
        return True

    def result(self, timeout: float | None = None) -> Any:
        """The work's return value; raises its error (WorkCancelled when it was stopped)."""
        try:
            return self.future.result(timeout)
        except CancelledError:  # stopped before it started
            raise WorkCancelled() from None


JobSubscriber = Callable[[Job], None]
_STOP = object()  # a lane's last item


class _Lane:
    """One named worker thread taking jobs from a priority queue."""

    def __init__(self, scheduler: Scheduler, lane: Lane) -> None:
        self.scheduler = scheduler
        self.lane = lane
        self.queue: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self.thread = threading.Thread(target=self._run, name=f"loremind-{lane}", daemon=True)
        self.current: Job | None = None
        self.thread.start()

    def _run(self) -> None:
        while True:
            _priority, _seq, item = self.queue.get()
            if item is _STOP:
                return
            job: Job = item
            self.scheduler._run(self, job)


class Scheduler:
    """The core's lanes and their jobs; :meth:`shutdown` stops every thread it started."""

    def __init__(self) -> None:
        self.gate = AnswerGate()
        self._lanes: dict[Lane, _Lane] = {}
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self._announcements: Fanout[Job] = Fanout("job", lambda job: job.title)
        self._closed = False
        self._local = threading.local()

    # -- submitting ----------------------------------------------------------------------------

    def submit(self, work: Callable[[], T], *, owner: str, title: str = "",
               lane: Lane = Lane.BACKGROUND, priority: Priority | None = None,
               yields: bool | None = None, unique: bool = False,
               cancel: threading.Event | None = None) -> Job:
        """Queue ``work`` on ``lane`` for ``owner``; returns its job at once.

        ``yields`` (default: on the background lane) makes the work's checkpoints wait while an
        answer runs. ``unique`` returns the owner's job still queued on the lane, if any,
        instead of queueing the same work twice. ``cancel`` is the work's own stop flag, if it
        has one already (an answer's), so that cancelling the job sets it too.
        """
        if priority is None:
            priority = {Lane.MODEL: Priority.ANSWER, Lane.INTERACTIVE: Priority.INTERACTIVE,
                        Lane.BACKGROUND: Priority.BACKGROUND,
                        Lane.DOWNLOADS: Priority.BACKGROUND}[lane]
        if yields is None:
            yields = lane is Lane.BACKGROUND
        with self._lock:
            if self._closed:
                raise RuntimeError("The scheduler was shut down.")
            if unique:
                for job in self._jobs.values():
                    if job.owner == owner and job.lane is lane and job.state is JobState.QUEUED:
                        return job
            job = Job(next(self._ids), owner, title or owner, lane, priority,
                      Control(cancel, self.gate if yields else None), work=work,
                      _scheduler=self)
            self._jobs[job.id] = job
            worker = self._lanes.get(lane)
            if worker is None:
                worker = self._lanes[lane] = _Lane(self, lane)
            worker.queue.put((int(priority), next(self._seq), job))
        self.announce(job)
        return job

    def _run(self, worker: _Lane, job: Job) -> None:
        with self._lock:
            if job.state is not JobState.QUEUED or not job.future.set_running_or_notify_cancel():
                self._forget(job)
                return
            job.state = JobState.RUNNING
            worker.current = job
        self.announce(job)
        self._local.job = job
        work = job.work
        assert work is not None
        yielding = job.control.gate is not None
        try:
            with controlled(job.control), (self.gate.working() if yielding else nullcontext()):
                if job.priority is Priority.IDLE or yielding:
                    job.control.checkpoint()  # background work starts only once no answer runs
                result = work()
        except WorkCancelled as exc:
            self._end(job, JobState.CANCELLED, error=exc)
        except BaseException as exc:  # noqa: BLE001 - the job's caller gets the error
            if not isinstance(exc, Exception):
                log.error("Job %s ended with %r", job.title, exc)
            self._end(job, JobState.FAILED, error=exc)
        else:
            self._end(job, JobState.DONE, result=result)
        finally:
            self._local.job = None
            worker.current = None

    def _end(self, job: Job, state: JobState, *, result: Any = None,
             error: BaseException | None = None) -> None:
        with self._lock:
            job.state = state
            job.ended_at = time.monotonic()
            self._forget(job)
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)
        self.announce(job)

    def _forget(self, job: Job) -> None:
        self._jobs.pop(job.id, None)
        job.work = None

    # -- asking about jobs ---------------------------------------------------------------------

    def current_job(self) -> Job | None:
        """The job running on this thread (None outside the scheduler's lanes)."""
        return getattr(self._local, "job", None)

    def jobs(self, owner: str | None = None, *, prefix: str = "") -> list[Job]:
        """Jobs not ended yet (of ``owner``, or of owners starting with ``prefix``), oldest
        first."""
        with self._lock:
            found = [j for j in self._jobs.values()
                     if (owner is None or j.owner == owner) and j.owner.startswith(prefix)]
        return sorted(found, key=lambda j: j.id)

    def threads(self) -> list[threading.Thread]:
        """The lanes' threads started so far (each named ``loremind-<lane>``)."""
        with self._lock:
            return [worker.thread for worker in self._lanes.values()]

    def busy(self, lane: Lane) -> bool:
        """Whether ``lane`` has a job running or queued."""
        with self._lock:
            return any(j.lane is lane for j in self._jobs.values())

    # -- stopping ------------------------------------------------------------------------------

    def cancel_job(self, job: Job) -> None:
        """Stop ``job``: a queued one ends now, a running one at its next checkpoint."""
        job.control.cancel()
        with self._lock:
            if job.state is JobState.QUEUED:
                queued = True
            elif job.state is JobState.RUNNING:
                job.state, queued = JobState.STOPPING, False
            else:
                return
        if queued:
            if job.future.cancel():
                with self._lock:
                    job.state = JobState.CANCELLED
                    job.ended_at = time.monotonic()
                    self._forget(job)
        self.announce(job)

    def cancel(self, owner: str) -> list[Job]:
        """Stop every job of ``owner``; returns them (wait on each to know they ended)."""
        jobs = self.jobs(owner)
        for job in jobs:
            job.cancel()
        return jobs

    def stop(self, owner: str, timeout: float = 5.0) -> bool:
        """Cancel ``owner``'s jobs and wait for them to end; whether they all did in time."""
        deadline = time.monotonic() + timeout
        return all(job.wait(max(0.0, deadline - time.monotonic()))
                   for job in self.cancel(owner))

    # -- answers first -------------------------------------------------------------------------

    @contextmanager
    def answering(self, settle_s: float = 1.0) -> Iterator[None]:
        """Hold while an answer is read and written: background work waits meanwhile. On entry,
        waits up to ``settle_s`` for running background work to reach its next checkpoint (one
        embedding batch), so that the answer does not start on a machine still busy with it."""
        with self.gate.answering():
            self.gate.wait_parked(settle_s)
            yield

    # -- announcements -------------------------------------------------------------------------

    def subscribe(self, subscriber: JobSubscriber) -> Callable[[], None]:
        """Call ``subscriber(job)`` whenever a job starts, reports, is stopped or ends."""
        return self._announcements.subscribe(subscriber)

    def announce(self, job: Job) -> None:
        """Tell the subscribers about ``job`` (on this thread); a failing one is logged."""
        self._announcements.tell(job)

    # -- the end -------------------------------------------------------------------------------

    def shutdown(self, timeout: float = 30.0) -> None:
        """Cancel every job, let running ones reach a checkpoint, and join every lane's thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            jobs = list(self._jobs.values())
            lanes = list(self._lanes.values())
        for job in jobs:
            self.cancel_job(job)
        for worker in lanes:
            worker.queue.put((-1, -1, _STOP))  # before anything still queued
        deadline = time.monotonic() + timeout
        for worker in lanes:
            worker.thread.join(max(0.0, deadline - time.monotonic()))
            if worker.thread.is_alive():
                log.warning("The %s lane did not stop within %.0f s", worker.lane, timeout)
