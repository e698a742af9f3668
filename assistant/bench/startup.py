"""``loremind bench startup``: from launching the app to the first token of a first question.

The app (``python -m ui``, as a user opens it, on the embedded defaults in a fresh data folder
whose welcome dialog was seen) runs in report mode: it prints ``window_shown``, ``first_token``
(of a question typed into the chat's box and sent with Enter as soon as the box takes it, when
that first token is on screen) and ``model_ready``, or ``failed`` with the reason; each is
timed here from the launch. A launch that fails, exits, or stays silent past the timeout is an
error, never a figure.
"""

from __future__ import annotations

import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from assistant.errors import LoremindError

STARTUP_REPORT_ENV = "LOREMIND_STARTUP_REPORT"  # read by ui.app.run_gui
STARTUP_QUESTION_ENV = "LOREMIND_STARTUP_QUESTION"  # the question asked once the window is up
QUESTION = "What can you help me with?"


class StartupError(LoremindError):
    """The app did not get to a first answer."""


def measure_startup(runs: int = 5, timeout_s: float = 120.0) -> dict[str, Any]:
    """Launch the app ``runs`` times; median and spread of each milestone, in seconds."""
    launches = [launch_once(timeout_s) for _ in range(runs)]
    result: dict[str, Any] = {"runs": runs, "cpu_count": os.cpu_count()}
    for key in ("window_shown_s", "first_token_s", "first_token_cpu_s"):
        values = [launch[key] for launch in launches if key in launch]
        if not values:
            continue
        result[key] = round(statistics.median(values), 3)
        result[f"{key}_spread"] = [round(min(values), 3), round(max(values), 3)]
    result["launches"] = launches
    return result


def launch_once(timeout_s: float) -> dict[str, float]:
    """One launch: seconds from process start to the window and to the first token."""
    env = dict(os.environ, **{STARTUP_REPORT_ENV: "1", STARTUP_QUESTION_ENV: QUESTION})
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="loremind-bench-") as home:
        env["LOREMIND_HOME"] = home
        # A returning user's launch: the welcome dialog was seen (a first launch shows it, and
        # the time a person takes to read it is not the app's).
        config = Path(home) / "config" / "config.toml"
        config.parent.mkdir()
        config.write_text("[ui]\nfirst_run_shown = true\n", encoding="utf-8")
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "ui"], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            return _read_milestones(process, started, timeout_s)
        finally:
            process.kill()
            process.wait()


def _read_milestones(process: subprocess.Popen[str], started: float,
                     timeout_s: float) -> dict[str, float]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # a reader thread, so a silent app cannot block the timeout
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    result: dict[str, float] = {}
    deadline = started + timeout_s
    while "first_token_s" not in result:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.perf_counter()))
        except queue.Empty:
            raise StartupError(f"The app gave no first answer within {timeout_s:.0f} s "
                               f"(seen: {', '.join(result) or 'nothing'}); run `loremind` to "
                               "see why.") from None
        if line is None:
            raise StartupError(f"The app exited (status {process.wait()}) before answering; "
                               "run `loremind` to see why.")
        # Timed here, from the launch: the app's own clock starts after Python's imports.
        seconds = time.perf_counter() - started
        event, _, rest = line.strip().partition(" ")
        if event == "failed":
            raise StartupError(f"The app's first answer failed: {rest.partition(' ')[2]}")
        if event in ("window_shown", "first_token", "model_ready"):
            result[f"{event}_s"] = round(seconds, 3)
        if event == "first_token" and (cpu := _cpu_seconds(process.pid)) is not None:
            result["first_token_cpu_s"] = round(cpu, 3)
    if "window_shown_s" not in result:
        raise StartupError("The app answered but never reported its window.")
    return result


def _cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) a running process has used, where /proc tells
    (Linux): unlike wall time, it does not grow when other work holds the cores."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
