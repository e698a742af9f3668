"""Embedders and rerankers in the catalogue: listed apart from the chat models, downloaded by the
same manager from a real HTTP hub on 127.0.0.1, checked as what they are, and recorded with
their kind."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.bench.synthetic_retrieval import write_tiny_embedder, write_tiny_reranker
from assistant.cli import main
from assistant.errors import ModelError
from assistant.models import ModelManager, load_catalogue
from assistant.paths import app_paths
from tests.models.hub_server import FakeHub

EMBEDDER = "bge-small-en-v1.5"
RERANKER = "jina-reranker-v1-tiny-en"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def manager() -> ModelManager:
    return ModelManager(app_paths().ensure())


@pytest.fixture
def retrieval_hub(monkeypatch, tmp_path, model_bytes):
    """A hub serving a tiny BERT embedder and reranker under two catalogue entries' names, and
    a chat model under a third retrieval entry's name."""
    catalogue = load_catalogue()
    server = FakeHub().start()
    for name, data in ((EMBEDDER, write_tiny_embedder(tmp_path / "e.gguf").read_bytes()),
                       (RERANKER, write_tiny_reranker(tmp_path / "r.gguf").read_bytes()),
                       ("bge-base-en-v1.5", model_bytes)):
        entry = catalogue.get(name)
        assert entry is not None
        server.add(entry.repo, entry.file, data)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.stop()


def test_each_kind_is_listed_on_its_own_with_what_retrieval_needs():
    chat = json.loads(run("models", "list", "--json").output)
    embedders = json.loads(run("models", "list", "--kind", "embedder", "--json").output)
    rerankers = json.loads(run("models", "list", "--kind", "reranker", "--json").output)
    catalogue = load_catalogue()
    assert {row["name"] for row in chat} == {e.name for e in catalogue.entries}
    assert {row["name"] for row in embedders} == {"nomic-embed-text-v1.5", "bge-small-en-v1.5",
                                                  "bge-base-en-v1.5", "qwen3-embedding-0.6b"}
    assert {row["name"] for row in rerankers} == {"bge-reranker-v2-m3", "qwen3-reranker-0.6b",
                                                  RERANKER}
    for row in embedders + rerankers:
        assert row["repo"].count("/") == 1 and row["file"].endswith(".gguf")
        assert row["ram_bytes"] > row["size_bytes"] > 10_000_000
        assert row["languages"] and row["license"] and row["summary"]
        assert row["context_length"] >= 512 and isinstance(row["fits"], bool)
        assert not row["installed"]
    assert all(row["kind"] == "embedder" and row["dimensions"] >= 384 for row in embedders)
    assert all(row["kind"] == "reranker" and row["dimensions"] == 0 for row in rerankers)
    prefixes = {row["name"]: (row["query_prefix"], row["document_prefix"]) for row in embedders}
    assert prefixes["nomic-embed-text-v1.5"] == ("search_query: ", "search_document: ")
    assert prefixes["bge-small-en-v1.5"][0].startswith("Represent this sentence")
    assert prefixes["qwen3-embedding-0.6b"][0].startswith("Instruct: ")
    text = run("models", "list", "--kind", "reranker").output
    assert RERANKER in text and "Rerankers for search" in text
    assert run("models", "list", "--kind", "nonsense").exit_code != 0


def test_the_chat_lists_and_the_recommendation_never_offer_a_retrieval_model():
    catalogue = load_catalogue()
    retrieval = {e.name for e in catalogue.retrieval}
    assert retrieval and not retrieval & {row.name for row in manager().rows()}
    picked = manager().recommended()
    assert picked is not None and picked.kind == "chat"
    assert all(e.kind == "chat" for e in catalogue.of_kind("chat"))


def test_a_retrieval_model_is_pulled_checked_and_recorded_with_its_kind(retrieval_hub):
    models = manager()
    embedder = models.pull(EMBEDDER)
    reranker = models.pull(RERANKER)
    assert embedder is not None and embedder.kind == "embedder"
    assert reranker is not None and reranker.kind == "reranker"
    index = json.loads((models.folder / "index.json").read_text())
    assert index["models"][EMBEDDER]["kind"] == "embedder"
    assert index["models"][RERANKER]["kind"] == "reranker"
    rows = {row.name: row for row in models.retrieval_rows("embedder")}
    assert rows[EMBEDDER].installed and rows[EMBEDDER].path == str(embedder.path)
    assert EMBEDDER not in {row.name for row in models.rows()}
    with pytest.raises(ModelError, match="not a chat model"):
        models.use(EMBEDDER)
    assert models.model_in_use() is None
    removed = models.remove(RERANKER)
    assert not removed.path.exists()


def test_a_file_of_the_wrong_kind_is_refused_and_deleted(retrieval_hub):
    models = manager()
    with pytest.raises(ModelError, match="is a chat model.*not an embedding model"):
        models.pull("bge-base-en-v1.5")  # the hub serves a chat model under its name
    assert not (models.folder / "bge-base-en-v1.5-q8_0.gguf").exists()
    assert "bge-base-en-v1.5" not in {m.name for m in models.installed()}


def test_the_command_pulls_an_embedder_without_offering_it_as_the_chat_model(retrieval_hub):
    result = run("models", "pull", EMBEDDER)
    assert result.exit_code == 0, result.output
    assert f"Installed {EMBEDDER}" in result.output and "models use" not in result.output
    listed = json.loads(run("models", "list", "--kind", "embedder", "--json").output)
    assert next(r for r in listed if r["name"] == EMBEDDER)["installed"]


def test_an_embedding_model_cannot_be_imported_as_a_chat_model(tmp_path):
    path = write_tiny_embedder(tmp_path / "embedder.gguf")
    with pytest.raises(ModelError, match="is an embedding model"):
        manager().import_file(path)
