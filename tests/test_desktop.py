"""Desktop integration: the entry and metainfo validate, install and uninstall are exact."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.desktop import APP_ID, TEMPLATES, desktop_files


def validator(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: scripts/setup installs it (Debian: desktop-file-utils, "
                    "appstream)")
    return path


@pytest.fixture(autouse=True)
def xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_desktop_entry_validates():
    result = subprocess.run([validator("desktop-file-validate"),
                             str(TEMPLATES / f"{APP_ID}.desktop")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_metainfo_validates():
    result = subprocess.run([validator("appstreamcli"), "validate", "--no-net",
                             str(TEMPLATES / f"{APP_ID}.metainfo.xml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_install_and_uninstall():
    result = CliRunner().invoke(main, ["install-desktop", "--autostart"])
    assert result.exit_code == 0, result.output
    files = desktop_files()
    for path in files.all():
        assert path.is_file(), path
    entry = files.desktop_entry.read_text()
    assert "Exec=loremind" not in entry, "Exec must name this installation's launcher"
    assert "ask --popup" in entry
    assert "--minimized" in files.autostart.read_text()
    check = subprocess.run([validator("desktop-file-validate"), str(files.desktop_entry)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout

    CliRunner().invoke(main, ["install-desktop"])  # without --autostart: the entry goes
    assert not files.autostart.exists()

    result = CliRunner().invoke(main, ["uninstall-desktop"])
    assert result.exit_code == 0
    assert not any(path.exists() for path in files.all())
    assert "Nothing to remove" in CliRunner().invoke(main, ["uninstall-desktop"]).output
