"""``loremind bench engine --engine URL --json`` against llama_cpp.server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.config import Settings, save_settings
from assistant.defaults import embedded_chat_model
from assistant.paths import app_paths
from tests.engine.remote_support import LlamaServer

pytestmark = pytest.mark.slow


def test_bench_compares_the_remote_engine_with_the_raw_endpoint(monkeypatch):
    monkeypatch.setattr("assistant.bench.remote.REPEATS", 2)  # the test checks the shape
    monkeypatch.setattr("assistant.bench.remote.GENERATION_TOKENS", 48)
    server = LlamaServer(embedded_chat_model(), n_ctx=1024)
    try:
        settings = Settings()
        settings.model.remote.context_size = 1024
        settings.model.remote.local_copy = str(embedded_chat_model())
        save_settings(settings, app_paths().ensure().config_file)
        result = CliRunner().invoke(main, ["bench", "engine", "--engine", server.url, "--json"])
        assert result.exit_code == 0, result.output
        figures = json.loads(result.stdout)
    finally:
        server.stop()
    assert figures["baseline_endpoint"] == "/v1/completions"
    assert figures["tokens"] == 48, "both sides generated the whole answer"
    for key in ("raw_tokens_per_s", "app_tokens_per_s", "raw_ttft_s", "app_ttft_s", "ratio"):
        assert figures[key] > 0
    # The ratio's value is the benchmark's to report, not the test's (tests check behaviour,
    # not timings): two short rounds on a shared machine swung it from 0.3 to 1.1.
