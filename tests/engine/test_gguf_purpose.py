"""What a GGUF file is for, read from its header: a chat model, an embedder or a reranker; and
using one as another is refused with a message saying what it is."""

from __future__ import annotations

import gguf
import pytest

from assistant.bench.synthetic_retrieval import write_tiny_embedder, write_tiny_reranker
from assistant.engine.gguf_file import read_gguf, validate_model_file
from assistant.errors import ModelError


def test_each_kind_is_told_apart(tmp_path, tiny_model_path):
    embedder = write_tiny_embedder(tmp_path / "e.gguf")
    reranker = write_tiny_reranker(tmp_path / "r.gguf")
    assert read_gguf(tiny_model_path).purpose == "chat"
    assert read_gguf(embedder).purpose == "embedder"
    assert read_gguf(embedder).pooling == int(gguf.PoolingType.MEAN)
    assert read_gguf(reranker).purpose == "reranker"
    assert read_gguf(tiny_model_path).pooling is None
    assert validate_model_file(embedder, "embedder").architecture == "bert"
    assert validate_model_file(reranker, "reranker").tensors["cls.output.weight"] == (1, 32)
    assert validate_model_file(tiny_model_path).purpose == "chat"


def test_using_one_kind_as_another_says_what_it_is(tmp_path, tiny_model_path):
    embedder = write_tiny_embedder(tmp_path / "e.gguf")
    with pytest.raises(ModelError, match="e.gguf is an embedding model .* not a chat model"):
        validate_model_file(embedder)
    with pytest.raises(ModelError, match="is a chat model .* not a reranking model"):
        validate_model_file(tiny_model_path, "reranker")
    cls_pooled = write_tiny_embedder(tmp_path / "cls.gguf", pooling=gguf.PoolingType.CLS)
    assert read_gguf(cls_pooled).purpose == "embedder"
