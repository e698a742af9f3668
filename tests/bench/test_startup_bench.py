"""The start-up benchmark fails loudly (a silent app times out, a failed answer is an error),
says which Qt platform showed the windows, and launches its baselines as it launches the app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from assistant.bench.startup import (
    QUESTION,
    StartupError,
    _read_milestones,
    display,
    launch,
    measure_startup,
)
from assistant.bench.startup_baseline import BARE_WINDOW, model_alone_job
from assistant.config import Settings
from assistant.defaults import embedded_chat_model


def run_code(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_a_silent_app_times_out():
    process = run_code("import time; time.sleep(60)")
    started = time.perf_counter()
    try:
        with pytest.raises(StartupError, match="no first answer within 1 s"):
            _read_milestones(process, started, timeout_s=1.0)
        assert time.perf_counter() - started < 10
    finally:
        process.kill()
        process.wait()


def test_a_failed_first_answer_is_an_error_not_a_figure():
    process = run_code("print('window_shown 0.5'); print('failed 2.0 The model did not load.')")
    with pytest.raises(StartupError, match="The model did not load"):
        _read_milestones(process, time.perf_counter(), timeout_s=30)
    process.wait()


def test_an_app_that_exits_before_answering_is_an_error():
    process = run_code("print('window_shown 0.5')")
    with pytest.raises(StartupError, match="exited"):
        _read_milestones(process, time.perf_counter(), timeout_s=30)


def test_milestones_are_timed_from_the_launch():
    process = run_code("print('window_shown 0.1', flush=True); print('first_token 0.2')")
    result = _read_milestones(process, time.perf_counter(), timeout_s=30)
    process.wait()
    assert 0 < result["window_shown_s"] <= result["first_token_s"]


def test_the_platform_line_is_kept_and_a_missing_one_is_an_error():
    process = run_code("print('platform 0.1 xcb', flush=True); print('window_shown 0.2')")
    result = _read_milestones(process, time.perf_counter(), timeout_s=30,
                              until="window_shown_s", required=("platform",))
    process.wait()
    assert result["platform"] == "xcb" and result["window_shown_s"] > 0
    process = run_code("print('window_shown 0.2')")
    with pytest.raises(StartupError, match="never reported platform"):
        _read_milestones(process, time.perf_counter(), timeout_s=30, until="window_shown_s",
                         required=("platform",))
    process.wait()


def test_an_unknown_platform_is_refused_and_offscreen_draws_for_no_screen():
    with pytest.raises(StartupError, match="Unknown platform 'wayland'"):
        with display("wayland"):
            pass
    with display("offscreen") as (env, shown_on):
        assert env["QT_QPA_PLATFORM"] == "offscreen" and shown_on == "none"


def launch_bare_window(env):
    return launch([sys.executable, "-c", BARE_WINDOW], env, 60, until="window_shown_s",
                  name="The bare window", required=("platform",))


def test_the_bare_window_reports_its_first_frame_and_platform():
    with display("offscreen") as (env, _):
        result = launch_bare_window(env)
    assert result["platform"] == "offscreen" and 0 < result["window_shown_s"] < 60


@pytest.mark.slow
def test_the_model_alone_answers_the_question_in_a_process_of_its_own():
    settings = Settings()
    job = model_alone_job(embedded_chat_model(), 2048, 1, settings.generation.system_prompt,
                          QUESTION)
    result = launch([sys.executable, "-m", "assistant.bench.startup_baseline", job],
                    dict(os.environ), 120, name="llama-cpp-python alone")
    assert 0 < result["model_ready_s"] < result["first_token_s"]
    assert result["first_token_cpu_s"] > 0


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("DISPLAY") is not None
                    or not (shutil.which("Xvfb") and shutil.which("openbox")),
                    reason="needs Xvfb and openbox, and no desktop display")
def test_on_xvfb_the_app_and_its_baselines_run_on_x_and_are_compared():
    result = measure_startup(runs=1, timeout_s=300, platform="auto")
    assert result["platform"] == "xcb" and result["display"].startswith("Xvfb")
    for key in ("window_shown_ratio", "first_token_ratio", "bare_window_window_shown_s",
                "model_alone_first_token_s", "model_alone_model_ready_s"):
        assert result[key] > 0, key
    assert result["window_shown_s"] < result["first_token_s"]
    assert [len(result[k]) for k in ("launches", "bare_windows", "model_alone")] == [1, 1, 1]
    assert all(app["platform"] == "xcb" for app in result["launches"])
