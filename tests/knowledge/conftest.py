"""Shared knowledge fixtures: one real embedder per session, a fresh store per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.knowledge import Embedder, Indexer
from assistant.store import Store


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2, loaded once for the whole test session."""
    return Embedder()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty database in this test's folder."""
    return Store.open(tmp_path / "db")


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
