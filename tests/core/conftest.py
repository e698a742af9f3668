"""The application core over the tiny model, for the core's tests."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.core import Loremind
from assistant.engine import LocalModel
from assistant.paths import app_paths


@pytest.fixture
def core(tiny_model_path, embedder, store):
    """A core over the tiny model, the real embedder and this test's database."""
    model = LocalModel.load(tiny_model_path, context_size=512)
    settings = Settings()
    settings.generation.max_tokens = 8
    core = Loremind(app_paths(), settings, model=model, embedder=embedder, store=store)
    yield core
    core.close()
    model.close()
