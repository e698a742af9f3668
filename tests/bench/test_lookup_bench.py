"""``loremind bench lookup``: prompt-lookup decoding against plain decoding, on the app's
prompts with sources."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.bench.synthetic import write_tiny_model
from assistant.cli import main

pytestmark = pytest.mark.slow  # indexes the benchmark documents with the real embedder


def test_bench_lookup_json_on_a_short_run(tmp_path):
    model = write_tiny_model(tmp_path / "tiny-2k.gguf", context=2048)
    result = CliRunner().invoke(main, ["bench", "lookup", "--json", "--model", str(model),
                                       "--rounds", "1", "--tokens", "6", "--draft", "3"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert (figures["prompts"], figures["rounds"], figures["max_tokens"]) == (24, 1, 6)
    for name in ("plain", "lookup3"):
        assert figures[f"{name}_tokens_per_s"] > 0
        assert figures[f"{name}_decode_tokens_per_s"] > 0
        assert 0 < figures[f"{name}_ttft_p50_s"]
        assert 0 < figures[f"{name}_completion_tokens"] <= 24 * 6
    assert figures["lookup3_speedup"] > 0 and figures["lookup3_quoting_speedup"] > 0
    assert 0 <= figures["lookup3_identical"] <= 1
