"""The layers hold: front ends over the core over the subsystems over the store and the engine;
the core never imports the GUI; the GUI, the command line and the servers for other apps reach
the rest only through the core's surface.

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
    assert "6 kept, 0 broken" in result.stdout


def copy_packages(tmp_path: Path) -> dict[str, str]:
    """A copy of the packages and the contracts to break; the environment to lint it in."""
    for package in ("assistant", "ui"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return dict(os.environ, PYTHONPATH=str(tmp_path))


def test_the_gui_contracts_fail_when_a_layer_is_crossed(tmp_path):
    env = copy_packages(tmp_path)
    (tmp_path / "assistant" / "shortcut.py").write_text("from ui.app import run_gui\n")
    (tmp_path / "ui" / "shortcut.py").write_text("import lancedb\n"
                                                  "from assistant.store import Store\n")
    (tmp_path / "assistant" / "connect" / "shortcut.py").write_text(
        "from assistant.memory.book import MemoryBook\n")
    (tmp_path / "assistant" / "core" / "shortcut.py").write_text(
        "from assistant.connect.http import ConnectServer\n")
    result = lint(tmp_path, env)
    assert result.returncode != 0
    assert "1 kept, 5 broken" in result.stdout  # only the command line's contract holds
    assert "assistant.connect.shortcut -> assistant.memory.book" in result.stdout
    assert "assistant.core.shortcut -> assistant.connect.http" in result.stdout
    assert "assistant.shortcut -> ui.app" in result.stdout
    assert "ui.shortcut -> lancedb" in result.stdout
    assert "ui.shortcut -> assistant.store" in result.stdout


def test_the_layers_contract_catches_an_indirect_import_upwards(tmp_path):
    env = copy_packages(tmp_path)
    # The store reaches the core only through a module of no layer: still a broken layer.
    (tmp_path / "assistant" / "detour.py").write_text("import assistant.core.chat\n")
    tables = tmp_path / "assistant" / "store" / "tables.py"
    tables.write_text(tables.read_text() + "\nimport assistant.detour  # noqa\n")
    result = lint(tmp_path, env)
    assert result.returncode != 0
    assert "Layers: front ends, the core, subsystems, store and engine, base modules BROKEN" \
        in result.stdout
    assert "assistant.store.tables -> assistant.detour" in result.stdout
    assert "assistant.detour -> assistant.core.chat" in result.stdout


def test_the_cli_contract_fails_when_a_command_skips_the_core(tmp_path):
    env = copy_packages(tmp_path)
    commands = tmp_path / "assistant" / "cli" / "store_cmds.py"
    commands.write_text(commands.read_text() + "\nfrom assistant.database import "
                        "open_app_database  # noqa\n")
    result = lint(tmp_path, env)
    assert result.returncode != 0
    assert "The command line uses the core's surface (assistant.core) and base modules only " \
        "BROKEN" in result.stdout
    assert "assistant.cli.store_cmds -> assistant.database" in result.stdout
