"""``loremind knowledge embedder`` and ``knowledge reranker``: choosing the retrieval models from
the command line, the index rebuilt with the new embedder (a tiny generated GGUF) and back."""

from __future__ import annotations

import json

from click.testing import CliRunner

from assistant.bench.synthetic_retrieval import write_tiny_embedder, write_tiny_reranker
from assistant.cli import main
from tests.cli.test_knowledge_cli import shared_embedder

__all__ = ["shared_embedder"]  # the fixture that hands commands the session's embedder


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_switching_the_embedder_rebuilds_the_index_and_switching_back_too(tmp_path,
                                                                           shared_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Network\n\nError NX-301 means the cable is unplugged.")
    (docs / "lens.txt").write_text("Clean the lens with a soft cloth every month.")
    assert run("index", str(docs)).exit_code == 0
    assert "in use: all-MiniLM-L6-v2" in run("knowledge", "embedder").output

    refused = run("knowledge", "embedder", "bge-small-en-v1.5")
    assert refused.exit_code == 1 and "not downloaded yet" in refused.output
    tiny = write_tiny_embedder(tmp_path / "tiny-embedder.gguf")
    switched = run("knowledge", "embedder", str(tiny))
    assert switched.exit_code == 0, switched.output
    assert "The index now uses tiny-embedder" in switched.output
    status = json.loads(run("knowledge", "status", "--json").output)
    assert status["embedder"] == "tiny-embedder" and status["vector_dim"] == 32
    assert status["chunks"] == 2 and status["rebuilding"] is None
    hits = json.loads(run("search", "--json", "NX-301").output)  # embeds with the new one
    assert any(hit["path"].endswith("guide.md") for hit in hits)

    back = run("knowledge", "embedder", "builtin")
    assert back.exit_code == 0 and "The index now uses all-MiniLM-L6-v2" in back.output
    assert "already uses" in run("knowledge", "embedder", "builtin").output
    status = json.loads(run("knowledge", "status", "--json").output)
    assert status["embedder"] == "all-MiniLM-L6-v2" and status["vector_dim"] == 384


def test_choosing_a_reranker_and_none(tmp_path, shared_embedder):
    reranker = write_tiny_reranker(tmp_path / "tiny-reranker.gguf")
    chosen = run("knowledge", "reranker", str(reranker))
    assert chosen.exit_code == 0 and f"reranker: {reranker}" in chosen.output
    not_one = run("knowledge", "reranker", str(write_tiny_embedder(tmp_path / "e.gguf")))
    assert not_one.exit_code == 1 and "not a reranking model" in not_one.output
    assert "reranker: none" in run("knowledge", "reranker", "none").output
