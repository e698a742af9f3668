"""The window in a real X session at 1280×800 with a window manager: nothing larger than the
screen, no text cut short, no chat wider than its view (see :mod:`tests.ui.layout_probe`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
SCREEN = "1280x800x24"


@pytest.fixture
def x_session(tmp_path):
    """Xvfb with one 1280×800 screen and openbox managing its windows; yields DISPLAY."""
    missing = [tool for tool in ("Xvfb", "openbox") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (scripts/setup installs them on Debian: "
                    "apt-get install xvfb openbox xdotool)")
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN,
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        display = ":" + pipe.readline().strip()
    env = {**os.environ, "DISPLAY": display}
    wm = subprocess.Popen(["openbox", "--sm-disable"], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # openbox takes the screen before the first window maps
    yield env
    for process in (wm, xvfb):
        process.terminate()
        process.wait(10)


def test_main_window_and_quick_ask_fit_a_1280x800_screen(x_session, tmp_path):
    result = tmp_path / "layout.json"
    env = {**x_session, "QT_QPA_PLATFORM": "xcb", "LOREMIND_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "tests.ui.layout_probe", str(result)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    found = json.loads(result.read_text())
    assert found["screen"][0] <= 1280 and found["screen"][1] <= 800
    steps = found["problems"]
    assert {"main window, Knowledge panel, long answer with four sources",
            "quick ask after two questions", "main window after Open in main window",
            "dark theme, memory panel", "shortcut sheet"} <= set(steps)
    assert {step: problems for step, problems in steps.items() if problems} == {}
