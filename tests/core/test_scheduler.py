"""The core's scheduler: owned jobs on named lanes, cancelled at checkpoints, answers first."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.core.scheduler import JobState, Lane, Priority, Scheduler
from assistant.work import WorkCancelled, checkpoint


@pytest.fixture
def scheduler():
    made = Scheduler()
    yield made
    made.shutdown(timeout=5)


def steps(count: int, seen: list[int], pause: float = 0.01) -> int:
    for step in range(count):
        checkpoint()
        seen.append(step)
        time.sleep(pause)
    return count


def test_a_job_runs_on_its_lane_thread_and_returns_its_result(scheduler):
    names: list[str] = []
    job = scheduler.submit(lambda: names.append(threading.current_thread().name) or 7,
                           owner="test", lane=Lane.INTERACTIVE)
    assert job.result(5) == 7
    assert job.state is JobState.DONE
    assert names == ["loremind-interactive"]


def test_cancel_stops_a_running_job_at_its_next_checkpoint(scheduler):
    seen: list[int] = []
    job = scheduler.submit(lambda: steps(10_000, seen), owner="folder:/notes")
    while len(seen) < 3:
        time.sleep(0.005)
    asked = time.monotonic()
    assert scheduler.stop("folder:/notes", timeout=2)
    assert time.monotonic() - asked < 0.5
    assert job.state is JobState.CANCELLED
    with pytest.raises(WorkCancelled):
        job.result()
    assert len(seen) < 10_000


def test_a_queued_job_cancelled_never_runs(scheduler):
    release = threading.Event()
    scheduler.submit(release.wait, owner="first")
    ran: list[str] = []
    second = scheduler.submit(lambda: ran.append("second"), owner="second")
    second.cancel()
    assert second.state is JobState.CANCELLED
    release.set()
    assert second.wait(2)
    time.sleep(0.05)
    assert ran == []


def test_background_work_waits_while_an_answer_runs(scheduler):
    seen: list[int] = []
    scheduler.submit(lambda: steps(400, seen), owner="folder:/notes")
    while not seen:
        time.sleep(0.005)
    with scheduler.answering():
        time.sleep(0.05)  # a step in flight may finish
        during = len(seen)
        time.sleep(0.3)
        assert len(seen) - during <= 1
    time.sleep(0.2)
    assert len(seen) > during + 1


def test_interactive_work_does_not_wait_for_answers_or_background_jobs(scheduler):
    scheduler.submit(lambda: steps(1000, []), owner="folder:/notes")
    with scheduler.answering():
        started = time.monotonic()
        job = scheduler.submit(lambda: steps(3, []), owner="memory", lane=Lane.INTERACTIVE)
        job.result(2)
        assert time.monotonic() - started < 0.5


def test_queued_jobs_start_by_priority(scheduler):
    release = threading.Event()
    order: list[str] = []
    scheduler.submit(release.wait, owner="blocker")
    scheduler.submit(lambda: order.append("upkeep"), owner="maintenance",
                     priority=Priority.IDLE)
    scheduler.submit(lambda: order.append("sync"), owner="folder:/a")
    last = scheduler.submit(lambda: order.append("sync b"), owner="folder:/b")
    release.set()
    last.wait(2)
    scheduler.jobs()  # let the lane reach the idle job
    time.sleep(0.1)
    assert order == ["sync", "sync b", "upkeep"]


def test_unique_submissions_share_the_queued_job(scheduler):
    release = threading.Event()
    scheduler.submit(release.wait, owner="blocker")
    one = scheduler.submit(lambda: None, owner="maintenance", unique=True)
    two = scheduler.submit(lambda: None, owner="maintenance", unique=True)
    assert one is two
    release.set()
    assert one.wait(2)


def test_subscribers_hear_start_progress_stopping_and_end(scheduler):
    heard: list[tuple[str, object]] = []
    scheduler.subscribe(lambda job: heard.append((job.state.value, job.progress)))

    def work() -> None:
        job = scheduler.current_job()
        assert job is not None
        job.report("half")
        steps(10_000, [])

    job = scheduler.submit(work, owner="folder:/notes")
    while job.progress != "half":
        time.sleep(0.005)
    job.cancel()
    job.wait(2)
    states = [state for state, _ in heard]
    assert states[0] == "queued" and "running" in states and "stopping" in states
    assert states[-1] == "cancelled"
    assert ("running", "half") in heard


def test_a_failing_job_keeps_its_error_and_the_lane_goes_on(scheduler):
    def fail() -> None:
        raise ValueError("broken")

    failed = scheduler.submit(fail, owner="x", lane=Lane.INTERACTIVE)
    with pytest.raises(ValueError):
        failed.result(2)
    assert failed.state is JobState.FAILED
    assert scheduler.submit(lambda: 1, owner="y", lane=Lane.INTERACTIVE).result(2) == 1


def test_shutdown_stops_running_work_and_joins_every_lane(scheduler):
    seen: list[int] = []
    for lane in Lane:
        scheduler.submit(lambda: steps(10_000, seen, 0.001), owner="busy", lane=lane,
                         yields=True)
    threads = scheduler.threads()
    assert sorted(t.name for t in threads) == sorted(f"loremind-{lane}" for lane in Lane)
    scheduler.shutdown(timeout=5)
    assert not [t for t in threads if t.is_alive()]
    with pytest.raises(RuntimeError):
        scheduler.submit(lambda: None, owner="late")
