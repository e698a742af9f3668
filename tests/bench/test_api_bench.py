"""``loremind bench api --json``: both sides measured in one run, counted, not predicted; the
bench's own app never reaches the user's keyring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from tests.connect.support import file_keyring  # noqa: F401  (autouse: the user's keyring)


def test_bench_api_reports_both_sides_of_each_figure(tmp_path, embedder, monkeypatch,
                                                     file_keyring):  # noqa: F811
    from assistant.bench.synthetic import write_tiny_model

    model = write_tiny_model(tmp_path / "tiny-4k.gguf", context=4096)
    monkeypatch.setattr("assistant.knowledge.embedder.Embedder", lambda: embedder)
    monkeypatch.setattr("assistant.bench.api.EMBED_REQUESTS", 12)
    result = CliRunner().invoke(main, ["bench", "api", "--json", "--runs", "2",
                                       "--model", str(model)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert len(figures["api_ttft_runs_s"]) == len(figures["in_process_ttft_runs_s"]) == 2
    assert all(t > 0 for t in figures["api_ttft_runs_s"] + figures["in_process_ttft_runs_s"])
    pairs = [a / b for a, b in zip(figures["api_ttft_runs_s"], figures["in_process_ttft_runs_s"],
                                   strict=True)]
    assert figures["ttft_ratio"] == pytest.approx(sum(pairs) / 2, rel=0.01)  # median of two
    assert figures["api_embeddings_per_s"] > 0 and figures["in_process_embeddings_per_s"] > 0
    # the API's warm-up answer and 2 measured ones, 3 warm-up embeddings and 12 measured
    assert figures["audited_calls"] == 1 + 2 + 3 + 12
    keyring_file = Path(file_keyring.file_path)
    assert not keyring_file.exists() or "connect-token" not in keyring_file.read_text()
