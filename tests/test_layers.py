"""The layers hold: the core never imports the GUI, the GUI reaches the engine only through it,
the servers for other apps keep to the core's surface, and nothing below a front end imports one.

The contracts live in pyproject.toml ([tool.importlinter]); this runs them, and shows that they
do fail when a layer is crossed, on a copy of the packages with one bad import added to each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def test_the_layer_contracts_are_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


def test_the_contracts_fail_when_a_layer_is_crossed(tmp_path):
    for package in ("assistant", "ui"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "assistant" / "shortcut.py").write_text("from ui.app import run_gui\n")
    (tmp_path / "ui" / "shortcut.py").write_text("import lancedb\n"
                                                  "from assistant.store import Store\n")
    (tmp_path / "assistant" / "connect" / "shortcut.py").write_text(
        "from assistant.memory.book import MemoryBook\n")
    (tmp_path / "assistant" / "core" / "shortcut.py").write_text(
        "from assistant.connect.http import ConnectServer\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    result = lint(tmp_path, env)
    assert result.returncode != 0
    assert "0 kept, 5 broken" in result.stdout
    assert "assistant.connect.shortcut -> assistant.memory.book" in result.stdout
    assert "assistant.core.shortcut -> assistant.connect.http" in result.stdout
    assert "assistant.shortcut -> ui.app" in result.stdout
    assert "ui.shortcut -> lancedb" in result.stdout
    assert "ui.shortcut -> assistant.store" in result.stdout
