"""``loremind bench startup``: how fast the window appears, and when the model is ready."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import click

from assistant.cli.app import reports_errors
from assistant.cli.bench import bench, print_result
from assistant.errors import LoremindError

STARTUP_REPORT_ENV = "LOREMIND_STARTUP_REPORT"  # read by ui.app.run_gui


def measure_startup(timeout_s: float = 180.0) -> dict[str, float]:
    """Start ``python -m ui`` (the app, as a user opens it) on the embedded defaults in a
    fresh data folder, and time the window and the model from process start."""
    env = dict(os.environ, **{STARTUP_REPORT_ENV: "1"})
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="loremind-bench-") as home:
        env["LOREMIND_HOME"] = home
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "ui"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        result: dict[str, float] = {}
        try:
            assert process.stdout is not None
            for line in process.stdout:
                event = line.split(" ", 1)[0]
                if event in ("window_shown", "model_ready"):
                    result[f"{event}_s"] = round(time.perf_counter() - started, 3)
                if time.perf_counter() - started > timeout_s or "model_ready_s" in result:
                    break
        finally:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if "window_shown_s" not in result:
        raise LoremindError("The app did not open its window; run `loremind` to see why.")
    return result


@bench.command("startup")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def bench_startup(as_json: bool) -> None:
    """Seconds from process start to the window shown, and to the model ready."""
    print_result(measure_startup(), as_json)
