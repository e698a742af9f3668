"""Every test gets its own data and config folders; nothing touches the real home or network."""

from __future__ import annotations

import os
from pathlib import Path

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


@pytest.fixture(autouse=True)
def cores_closed(monkeypatch):
    """Close every core a test opened (its lanes' threads end; lent models stay loaded)."""
    from assistant.core.app import Loremind

    opened: list[Loremind] = []
    made = Loremind.__init__

    def init(self, *args, **kwargs):
        made(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(Loremind, "__init__", init)
    yield
    for core in opened:
        core.close()


@pytest.fixture(autouse=True)
def runtime_dir(monkeypatch):
    """A short private XDG_RUNTIME_DIR (socket paths are limited to 108 bytes) for this test."""
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="lm-run-")
    monkeypatch.setenv("XDG_RUNTIME_DIR", folder)
    yield Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """A random llama-architecture GGUF model, small enough to load in milliseconds."""
    from assistant.bench.synthetic import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny.gguf")


@pytest.fixture(scope="session")
def embedded_model():
    """The real embedded SmolLM2-135M-Instruct, loaded once for the whole run."""
    from assistant.engine import LocalModel

    model = LocalModel.load(context_size=2048)
    yield model
    model.close()


@pytest.fixture(scope="session")
def embedder():
    """The real bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    from assistant.knowledge.embedder import Embedder

    return Embedder()


@pytest.fixture
def store(loremind_home):
    """A fresh database in this test's LOREMIND_HOME, with every migration applied."""
    from assistant.migrations import open_database
    from assistant.paths import app_paths

    return open_database(app_paths().ensure())
