"""A local hub serving generated GGUF files, and a file keyring, for the model manager's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.models.hub_server import FakeHub

# Served under the names of real catalogue entries, so that the shipped catalogue is exercised.
QWEN = ("bartowski/Qwen2.5-0.5B-Instruct-GGUF", "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf")
GATED = ("google/gemma-3-1b-it-qat-q4_0-gguf", "gemma-3-1b-it-q4_0.gguf")


@pytest.fixture(scope="session")
def model_bytes(tmp_path_factory) -> bytes:
    """A random llama model of about 10 MB: ten 1 MiB chunks, enough to stop half-way."""
    from assistant.bench.synthetic import write_tiny_model

    folder = tmp_path_factory.mktemp("hub-files")
    path = write_tiny_model(folder / "model.gguf", embedding=256, layers=4, feed_forward=512,
                            context=4096)  # room for the app's whole prompt
    return path.read_bytes()


@pytest.fixture
def hub(monkeypatch, model_bytes) -> Iterator[FakeHub]:
    """A hub on 127.0.0.1 serving the Qwen 0.5B entry; HF_ENDPOINT points at it."""
    server = FakeHub().start()
    server.add(*QWEN, model_bytes)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.stop()


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


def closed_port_url() -> str:
    """An endpoint on 127.0.0.1 where nothing listens: what being offline looks like."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
