"""``loremind bench startup``: from launching the app to the first token of a first question,
against a bare window and the model alone, launched in the same run.

The app (``python -m ui``, as a user opens it, on the embedded defaults in a fresh data folder
whose welcome dialog was seen) runs in report mode: it prints ``platform``, ``window_shown``
(once its main window's first expose has been handled, when the first frame is painted),
``first_token`` (of a question typed into the chat's box and sent with Enter as soon as the box
takes it, when that first token is shown) and ``model_ready``, or ``failed`` with the reason.
The baselines (:mod:`assistant.bench.startup_baseline`) are a bare PySide6 window for
``window_shown`` and llama-cpp-python alone answering the same messages for ``first_token``.
Every launch is a fresh process timed here from its start; the three alternate, so drifting load
on a shared machine touches them alike. A launch that fails, exits, or stays silent past the
timeout is an error, never a figure.

Where an X display can be had (the desktop's, or Xvfb with openbox when both are installed),
everything runs on it (``platform: "xcb"``), so the first frame is one a window manager maps;
elsewhere Qt's ``offscreen`` platform stands in, and the output says which.
"""

from __future__ import annotations

import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.bench.startup_baseline import BARE_WINDOW, model_alone_job
from assistant.config import Settings
from assistant.defaults import embedded_chat_model
from assistant.errors import LoremindError

STARTUP_REPORT_ENV = "LOREMIND_STARTUP_REPORT"  # read by ui.app.run_gui
STARTUP_QUESTION_ENV = "LOREMIND_STARTUP_QUESTION"  # the question asked once the window is up
QUESTION = "What can you help me with?"
PLATFORMS = ("auto", "xcb", "offscreen")
SCREEN = "1280x800x24"  # as tests/ui/test_layout_xvfb.py and scripts/screenshots-gui
_GOALS = {"first_token_s": "first answer", "window_shown_s": "window"}


class StartupError(LoremindError):
    """The app, or a baseline, did not get to its milestone."""


def measure_startup(runs: int = 5, timeout_s: float = 120.0,
                    platform: str = "auto") -> dict[str, Any]:
    """Launch the app, a bare window and the model alone ``runs`` times each, alternating;
    median and spread of each milestone in seconds, and the app's over the baseline's."""
    settings = Settings()
    model_job = model_alone_job(embedded_chat_model(), settings.model.context_size,
                                settings.model.threads, settings.generation.system_prompt,
                                QUESTION)
    app, bare, alone = [], [], []
    with display(platform) as (env, display_name):
        for _ in range(runs):
            bare.append(launch([sys.executable, "-c", BARE_WINDOW], env, timeout_s,
                               until="window_shown_s", name="The bare PySide6 window",
                               required=("platform",)))
            app.append(launch_app(env, timeout_s))
            alone.append(launch([sys.executable, "-m", "assistant.bench.startup_baseline",
                                 model_job], env, timeout_s, name="llama-cpp-python alone"))
    platforms = {launch["platform"] for launch in app + bare}
    result: dict[str, Any] = {"runs": runs, "cpu_count": os.cpu_count(),
                              "load_average": [round(v, 2) for v in os.getloadavg()],
                              "platform": "/".join(sorted(platforms)), "display": display_name}
    result.update(_summary(app, ("window_shown_s", "first_token_s", "first_token_cpu_s")))
    result.update(_summary(bare, ("window_shown_s",), prefix="bare_window_"))
    result.update(_summary(alone, ("model_ready_s", "first_token_s", "first_token_cpu_s"),
                           prefix="model_alone_"))
    for ratio, app_key, baseline_key in (
            ("window_shown_ratio", "window_shown_s", "bare_window_window_shown_s"),
            ("first_token_ratio", "first_token_s", "model_alone_first_token_s"),
            ("first_token_cpu_ratio", "first_token_cpu_s", "model_alone_first_token_cpu_s")):
        if result.get(app_key) and result.get(baseline_key):
            result[ratio] = round(result[app_key] / result[baseline_key], 2)
    result.update(launches=app, bare_windows=bare, model_alone=alone)
    return result


def _summary(launches: list[dict[str, Any]], keys: tuple[str, ...],
             prefix: str = "") -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key in keys:
        values = [launch[key] for launch in launches if key in launch]
        if values:
            summary[prefix + key] = round(statistics.median(values), 3)
            summary[f"{prefix}{key}_spread"] = [round(min(values), 3), round(max(values), 3)]
    return summary


@contextmanager
def display(platform: str = "auto") -> Iterator[tuple[dict[str, str], str]]:
    """The launches' environment and what shows their windows. ``auto``: the desktop's X or
    Wayland display, else Xvfb with openbox when installed, else Qt's offscreen platform;
    ``xcb`` insists on X; ``offscreen`` never draws for a screen."""
    if platform not in PLATFORMS:
        raise StartupError(f"Unknown platform '{platform}'; use one of {', '.join(PLATFORMS)}.")
    env = dict(os.environ)
    if platform == "offscreen":
        yield {**env, "QT_QPA_PLATFORM": "offscreen"}, "none"
        return
    if env.get("DISPLAY") or (platform == "auto" and env.get("WAYLAND_DISPLAY")):
        yield ({**env, "QT_QPA_PLATFORM": "xcb"} if platform == "xcb" else env), "the desktop's"
        return
    if shutil.which("Xvfb") is None or shutil.which("openbox") is None:
        if platform == "xcb":
            raise StartupError("No X display, and Xvfb or openbox is missing to start one "
                               "(Debian: apt-get install xvfb openbox).")
        yield {**env, "QT_QPA_PLATFORM": "offscreen"}, "none"
        return
    with _xvfb_session(env) as x_env:
        yield {**x_env, "QT_QPA_PLATFORM": "xcb"}, f"Xvfb {SCREEN} + openbox"


@contextmanager
def _xvfb_session(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Xvfb with openbox managing its windows, for as long as the block runs."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN,
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    helpers = [xvfb]
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise StartupError("Xvfb did not start.")
        x_env = {**env, "DISPLAY": f":{number}"}
        helpers.append(subprocess.Popen(["openbox", "--sm-disable"], env=x_env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)  # openbox takes the screen before the first window maps
        yield x_env
    finally:
        for process in reversed(helpers):
            process.terminate()
            process.wait(10)


def launch_app(env: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """One launch of the app as a returning user: seconds to its window and first token."""
    env = {**env, STARTUP_REPORT_ENV: "1", STARTUP_QUESTION_ENV: QUESTION}
    with tempfile.TemporaryDirectory(prefix="loremind-bench-") as home:
        env["LOREMIND_HOME"] = home
        # A returning user's launch: the welcome dialog was seen (a first launch shows it, and
        # the time a person takes to read it is not the app's).
        config = Path(home) / "config" / "config.toml"
        config.parent.mkdir()
        config.write_text("[ui]\nfirst_run_shown = true\n", encoding="utf-8")
        return launch([sys.executable, "-m", "ui"], env, timeout_s,
                      required=("platform", "window_shown_s"),
                      hint=" Run `loremind` to see why.")


def launch(command: list[str], env: dict[str, str], timeout_s: float, *,
           until: str = "first_token_s", name: str = "The app", required: tuple[str, ...] = (),
           hint: str = "") -> dict[str, Any]:
    """Start ``command`` and read its milestones until ``until``; always ends the process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    try:
        return _read_milestones(process, started, timeout_s, until=until, name=name,
                                required=required, hint=hint)
    finally:
        process.kill()
        process.wait()


def _read_milestones(process: subprocess.Popen[str], started: float, timeout_s: float, *,
                     until: str = "first_token_s", name: str = "The app",
                     required: tuple[str, ...] = (), hint: str = "") -> dict[str, Any]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # a reader thread, so a silent process cannot block the timeout
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    result: dict[str, Any] = {}
    deadline = started + timeout_s
    while until not in result:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.perf_counter()))
        except queue.Empty:
            raise StartupError(f"{name} reached no {_GOALS[until]} within {timeout_s:.0f} s "
                               f"(seen: {', '.join(result) or 'nothing'}).{hint}") from None
        if line is None:
            raise StartupError(f"{name} exited (status {process.wait()}) before its "
                               f"{_GOALS[until]}.{hint}")
        # Timed here, from the launch: a process's own clock starts after Python's imports.
        seconds = time.perf_counter() - started
        event, _, rest = line.strip().partition(" ")
        detail = rest.partition(" ")[2]
        if event == "failed":
            raise StartupError(f"{name} failed before its {_GOALS[until]}: {detail}")
        if event == "platform":
            result["platform"] = detail
        elif event in ("window_shown", "first_token", "model_ready"):
            result[f"{event}_s"] = round(seconds, 3)
        if event == "first_token" and (cpu := _cpu_seconds(process.pid)) is not None:
            result["first_token_cpu_s"] = round(cpu, 3)
    missing = [key for key in required if key not in result]
    if missing:
        raise StartupError(f"{name} got to its {_GOALS[until]} but never reported "
                           f"{', '.join(missing)}.")
    return result


def _cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) a running process has used, where /proc tells
    (Linux): unlike wall time, it does not grow when other work holds the cores."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
