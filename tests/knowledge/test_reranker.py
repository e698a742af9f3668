"""The llama.cpp reranker on a tiny generated BERT cross-encoder: one score per passage through
the low-level API, pairs formatted as llama-server formats them. Plumbing only: the tiny model
is random, so whether its scores rank well says nothing; a real reranker's quality can only be
measured once one is downloaded (the catalogue's are not, here)."""

from __future__ import annotations

import math

import pytest

from assistant.bench.synthetic_retrieval import CLS, SEP, write_tiny_embedder, write_tiny_reranker
from assistant.errors import ModelError
from assistant.knowledge.reranker import MAX_SEQUENCES, LlamaReranker

PASSAGES = ["paris is the capital of france", "the cat sat on the mat", "blue",
            "what is a database backup", "hello world"]


@pytest.fixture(scope="module")
def reranker(tmp_path_factory):
    model = LlamaReranker(write_tiny_reranker(tmp_path_factory.mktemp("rr") / "tiny-rr.gguf"))
    yield model
    model.close()


def test_one_finite_score_per_passage_in_order(reranker):
    scores = reranker.score("what is the capital of france", PASSAGES)
    assert len(scores) == len(PASSAGES) and all(math.isfinite(s) for s in scores)
    assert len(set(scores)) == len(PASSAGES)  # each pair is read as a whole
    alone = [reranker.score("what is the capital of france", [p])[0] for p in PASSAGES]
    assert scores == pytest.approx(alone, rel=2e-3)  # batching changes only rounding
    assert reranker.score("what is the capital of france", []) == []
    other = reranker.score("hello", PASSAGES)
    assert other != pytest.approx(scores, abs=1e-4)  # the question counts too


def test_many_passages_go_in_several_batches(reranker):
    passages = [f"{p} {n % 10}" for n, p in enumerate(PASSAGES * (MAX_SEQUENCES // 2))]
    calls = reranker.calls
    scores = reranker.score("the capital", passages)
    assert len(scores) == len(passages) > MAX_SEQUENCES
    assert reranker.calls - calls == len(passages)
    assert scores[:3] == pytest.approx(reranker.score("the capital", passages[:3]), rel=2e-3)


def test_pairs_are_formatted_as_llama_server_formats_them(reranker):
    assert reranker.template is None  # a BERT cross-encoder has no rerank template
    tokens = reranker.pair_tokens("what is", "the cat")
    # [BOS] question [EOS] [SEP] passage [EOS]; for BERT both ends are [SEP]
    assert tokens[0] == CLS and tokens[-1] == SEP and tokens.count(SEP) == 3
    long = reranker.pair_tokens("what is", " ".join(["database"] * 2000))
    assert len(long) <= 256 and long[-1] == SEP  # cut to the model's context, still closed


def test_an_embedding_model_is_not_a_reranker(tmp_path):
    with pytest.raises(ModelError, match="is an embedding model.*not a reranking model"):
        LlamaReranker(write_tiny_embedder(tmp_path / "e.gguf"))
