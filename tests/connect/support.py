"""What the Connections tests share: a file keyring, a core with indexed documents and a
memory, and the settings file a child process (``loremind mcp``) reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings, save_settings

DOCS = {
    "boiler.md": "# Boiler manual\n\n## Errors\n\nError E42 on the Vaillant boiler means the "
                 "water pressure is below one bar: open the filling loop until the gauge "
                 "reads 1.5 bar.\n",
    "garden.md": "# Garden\n\nThe tomatoes need water every second evening in July, and the "
                 "roses want pruning in March.\n",
}
MEMORY = "My boiler is a Vaillant ecoTEC in the cellar"
QUESTION = "What does error E42 on the Vaillant boiler mean?"


@pytest.fixture(autouse=True)
def file_keyring(tmp_path, monkeypatch):
    """keyrings.alt's plain-file keyring in this test's folder (never the real keyring); child
    processes pick the same backend and file through the environment."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    previous = keyring.get_keyring()
    backend = PlaintextKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def chat_model_2k(tmp_path_factory):
    """A tiny random model whose context holds a memory and a cited passage (its vocabulary
    is mostly bytes: a character is a token)."""
    from assistant.bench.synthetic import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("connect-models") / "tiny-2k.gguf",
                            context=2048)


def write_docs(folder: Path) -> Path:
    """The test documents in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def connected_core(model_path: Path | None, embedder, store, folder: Path):
    """A core on ``model_path`` (None: the embedded SmolLM2) with Connections on (any free
    port), the test documents indexed from ``folder`` and one memory; the settings are saved,
    so a child process reads the same."""
    from assistant.core import Loremind
    from assistant.engine import LocalModel
    from assistant.paths import app_paths

    paths = app_paths().ensure()
    settings = Settings()
    settings.model.path = str(model_path or "")
    settings.model.context_size = 2048
    settings.generation.max_tokens = 16
    settings.connect.enabled = True
    settings.connect.port = 0
    save_settings(settings, paths.config_file)
    model = LocalModel.load(model_path, context_size=2048)
    core = Loremind(paths, settings, model=model, embedder=embedder, store=store)
    write_docs(folder)
    core.knowledge.add_folder(folder)
    core.knowledge.index(folder)
    core.memory.remember(MEMORY)
    return core


@pytest.fixture
def connected(chat_model_2k, embedder, store, tmp_path):
    """A core on the tiny model, ready for other apps (see connected_core)."""
    core = connected_core(chat_model_2k, embedder, store, tmp_path / "docs")
    yield core
    core.close()


@pytest.fixture
def served(connected):
    """The HTTP server for other apps over ``connected``: its URL."""
    from assistant.connect.http import ConnectServer

    server = ConnectServer(connected, connected.current_settings.connect)
    yield server.start()
    server.stop()
