"""Every test gets its own data and config folders; nothing touches the real home or network."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def loremind_home(tmp_path, monkeypatch):
    """Point LOREMIND_HOME at a fresh folder for this test."""
    home = tmp_path / "loremind-home"
    monkeypatch.setenv("LOREMIND_HOME", str(home))
    return home
