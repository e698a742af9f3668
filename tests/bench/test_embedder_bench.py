"""``loremind bench embedder`` on a small input: every figure is there and sane, each runtime
was launched in a process of its own and searched, and the command is registered."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from assistant.bench.embedder import run_embedder_bench
from assistant.cli import main
from assistant.knowledge.convert import converter_missing

pytestmark = pytest.mark.slow  # both runtimes load the real model, each in a new process

def test_a_small_run_measures_both_runtimes(tmp_path):
    if converter_missing():
        pytest.skip(converter_missing())
    result = run_embedder_bench(chunks=12, files=1, sweep=True, home=tmp_path)
    same = result["equivalence"]
    assert same["chunks"] == 12 and same["cosine_min"] >= 0.999
    assert same["token_counts_equal"] == 12 and same["query_cosine_min"] >= 0.999
    assert set(result["encode_chunks_per_s"]) == {"sentence-transformers", "llama.cpp"}
    assert all(rate > 0 for rate in result["encode_chunks_per_s"].values())
    assert set(result["llama_batch_tokens_chunks_per_s"]) == {"256", "512", "1024", "2048"}
    for runtime, launched in result["launched"].items():
        assert launched["first_results"] > 0, runtime
        assert launched["first_search_ms"] >= launched["imports_ms"] > 0
        assert launched["chunks_indexed"] > 0 and launched["index_chunks_per_s"] > 0
        assert launched["peak_rss_mb"] >= launched["peak_rss_first_search_mb"] > 50
        assert launched["search_p50_ms"] > 0 and launched["query_embed_p50_ms"] > 0
    again = run_embedder_bench(chunks=4, files=1, sweep=False, home=tmp_path)
    assert again["convert_s"] < result["convert_s"]  # converted once, then reused

def test_the_command_is_registered_with_the_other_benchmarks():
    result = CliRunner().invoke(main, ["bench", "--help"])
    assert result.exit_code == 0 and "embedder" in result.output
    result = CliRunner().invoke(main, ["bench", "embedder", "--help"])
    assert "--json" in result.output and "--chunks" in result.output
