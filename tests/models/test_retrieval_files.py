"""What ``[knowledge] embedder`` and ``[knowledge] reranker`` stand for: a downloaded catalogue
model (pulled from a real HTTP hub on 127.0.0.1) or a GGUF file, with its catalogue name and
prefixes; the reranker the parts share is loaded once, its speed measured, or not at all."""

from __future__ import annotations

import shutil

import pytest

from assistant.bench.synthetic_retrieval import write_tiny_embedder, write_tiny_reranker
from assistant.config import KnowledgeSettings
from assistant.errors import ModelError
from assistant.knowledge.reranker import LlamaReranker
from assistant.models import ModelManager, load_catalogue
from assistant.models.retrieval_files import open_reranker, retrieval_file
from assistant.paths import app_paths
from tests.models.hub_server import FakeHub

EMBEDDER = "nomic-embed-text-v1.5"  # trained with prefixes for questions and passages
RERANKER = "jina-reranker-v1-tiny-en"


@pytest.fixture
def pulled(monkeypatch, tmp_path):
    """The tiny embedder and reranker downloaded under two catalogue entries' names."""
    catalogue = load_catalogue()
    server = FakeHub().start()
    for name, path in ((EMBEDDER, write_tiny_embedder(tmp_path / "e.gguf")),
                       (RERANKER, write_tiny_reranker(tmp_path / "r.gguf"))):
        entry = catalogue.get(name)
        assert entry is not None
        server.add(entry.repo, entry.file, path.read_bytes())
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    manager = ModelManager(app_paths().ensure())
    manager.pull(EMBEDDER)
    manager.pull(RERANKER)
    yield manager
    server.stop()


def test_a_downloaded_name_gives_its_file_name_and_prefixes(pulled):
    paths = app_paths()
    entry = load_catalogue().get(EMBEDDER)
    assert entry is not None and entry.query_prefix and entry.document_prefix
    found = retrieval_file(paths, EMBEDDER.upper(), "embedder")
    assert found.path == pulled.folder / entry.file and found.name == EMBEDDER
    assert (found.query_prefix, found.document_prefix) == (entry.query_prefix,
                                                           entry.document_prefix)
    with pytest.raises(ModelError, match="is not a reranker"):
        retrieval_file(paths, EMBEDDER, "reranker")
    reranker = open_reranker(KnowledgeSettings(reranker=RERANKER), paths)
    assert isinstance(reranker, LlamaReranker)
    try:
        assert reranker.name == RERANKER and reranker.seconds_for(150) is not None
    finally:
        reranker.close()


def test_a_file_is_checked_and_named_by_its_catalogue_entry(tmp_path):
    paths = app_paths().ensure()
    entry = load_catalogue().get(EMBEDDER)
    assert entry is not None
    # A catalogue entry's file downloaded by hand: used as Loremind uses that entry.
    by_hand = write_tiny_embedder(tmp_path / entry.file)
    found = retrieval_file(paths, str(by_hand), "embedder")
    assert found.name == EMBEDDER and found.query_prefix == entry.query_prefix
    mine = shutil.copy(by_hand, tmp_path / "my-embedder.gguf")
    assert retrieval_file(paths, str(mine), "embedder").name == "my-embedder"
    with pytest.raises(ModelError, match="not a reranking model"):
        retrieval_file(paths, str(mine), "reranker")
    with pytest.raises(ModelError, match="not downloaded yet.*models pull bge-small-en-v1.5"):
        retrieval_file(paths, "bge-small-en-v1.5", "embedder")
    with pytest.raises(ModelError, match="neither a downloaded reranker nor a file"):
        retrieval_file(paths, str(tmp_path / "missing.gguf"), "reranker")
    assert open_reranker(KnowledgeSettings(reranker="  "), paths) is None
