"""Knowledge fixtures; ``embedder`` (one per session) and ``store`` come from tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.knowledge import Embedder, Indexer
from assistant.store import Store


@pytest.fixture
def indexer(store: Store, embedder: Embedder) -> Indexer:
    """An indexer over the test's store with default settings."""
    return Indexer(store, embedder)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """An empty folder to put documents in."""
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder
