"""The start-up benchmark fails loudly: a silent app times out, a failed answer is an error."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from assistant.bench.startup import StartupError, _read_milestones


def launch(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_a_silent_app_times_out():
    process = launch("import time; time.sleep(60)")
    started = time.perf_counter()
    try:
        with pytest.raises(StartupError, match="no first answer within 1 s"):
            _read_milestones(process, started, timeout_s=1.0)
        assert time.perf_counter() - started < 10
    finally:
        process.kill()
        process.wait()


def test_a_failed_first_answer_is_an_error_not_a_figure():
    process = launch("print('window_shown 0.5'); print('failed 2.0 The model did not load.')")
    with pytest.raises(StartupError, match="The model did not load"):
        _read_milestones(process, time.perf_counter(), timeout_s=30)
    process.wait()


def test_an_app_that_exits_before_answering_is_an_error():
    process = launch("print('window_shown 0.5')")
    with pytest.raises(StartupError, match="exited"):
        _read_milestones(process, time.perf_counter(), timeout_s=30)


def test_milestones_are_timed_from_the_launch():
    process = launch("print('window_shown 0.1', flush=True); print('first_token 0.2')")
    result = _read_milestones(process, time.perf_counter(), timeout_s=30)
    process.wait()
    assert 0 < result["window_shown_s"] <= result["first_token_s"]
