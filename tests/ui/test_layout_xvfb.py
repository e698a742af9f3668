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


def x_server(tools: tuple[str, ...] = ("Xvfb", "openbox")) -> tuple[subprocess.Popen, dict]:
    """Xvfb with one 1280×800 screen; returns it and an environment with its DISPLAY."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (scripts/setup installs them on Debian: "
                    "apt-get install xvfb openbox xdotool trayer)")
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN,
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        display = ":" + pipe.readline().strip()
    return xvfb, {**os.environ, "DISPLAY": display}


@pytest.fixture
def x_session():
    """Xvfb at 1280×800 with openbox managing its windows; yields the environment."""
    xvfb, env = x_server()
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


def test_tray_notice_is_readable_in_the_dark_theme(tmp_path):
    """Without a notification service Qt draws the notice pale yellow, whatever the theme."""
    found = run_tray_probe("tests.ui.balloon_probe", tmp_path)
    assert found["tray"] and "background" in found, found
    assert found["texts"] and all(contrast(text, found["background"]) >= 4.5
                                  for text in found["texts"]), found


def run_tray_probe(module: str, tmp_path: Path, **env_extra: str) -> dict:
    """Run the probe ``module`` in a desktop with a tray (Xvfb, openbox, trayer); its JSON."""
    xvfb, env = x_server(("Xvfb", "openbox", "trayer"))
    helpers = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
               for command in (["openbox", "--sm-disable"],
                               ["trayer", "--edge", "bottom", "--SetDockType", "true"])]
    try:
        time.sleep(1.5)
        result = tmp_path / "probe.json"
        run = subprocess.run([sys.executable, "-m", module, str(result)],
                             cwd=ROOT, env={**env, "QT_QPA_PLATFORM": "xcb",
                                            "PYTHONPATH": str(ROOT), **env_extra},
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]
        found: dict = json.loads(result.read_text())
        return found
    finally:
        for process in (*helpers, xvfb):
            process.terminate()
            process.wait(10)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two "#rrggbb" colours."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)
