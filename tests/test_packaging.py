"""A built wheel carries everything the app needs: icons, stylesheets and data files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_wheel_installs_icons_stylesheets_and_the_model_catalogue(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "--wheel-dir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("loremind-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    icons = {f"ui/resources/icons/{p.name}" for p in (ROOT / "resources" / "icons").iterdir()}
    styles = {f"ui/resources/styles/{p.name}" for p in (ROOT / "resources" / "styles").iterdir()}
    assert icons <= names and styles <= names
    assert "ui/resources/styles/app.qss" in names and "ui/resources/icons/logo.svg" in names
    assert "assistant/models/catalogue.json" in names
    assert not any(name.startswith(("tests/", "resources/")) for name in names)
