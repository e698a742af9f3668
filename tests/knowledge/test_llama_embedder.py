"""The llama.cpp embedder on a tiny generated BERT GGUF: vectors, prefixes, word pieces,
cancellation, queries going first, and the indexer running on it (real llama.cpp, real
LanceDB)."""

from __future__ import annotations

import threading
import time

import gguf
import numpy as np
import pytest

from assistant.bench.synthetic_retrieval import write_tiny_embedder
from assistant.errors import ModelError
from assistant.knowledge import Indexer
from assistant.knowledge.embedding import open_embedder
from assistant.knowledge.llama_embedder import MAX_SEQUENCES, LlamaEmbedder
from assistant.store import CHUNKS
from assistant.work import Control, WorkCancelled, controlled

QUERY_PREFIX, DOCUMENT_PREFIX = "search query: ", "search document: "
TEXTS = ["the cat sat on the mat", "hello world", "paris is the capital of france",
         "a red dog", "what is the database backup", "blue"]


@pytest.fixture(scope="module")
def tiny_embedder_path(tmp_path_factory):
    return write_tiny_embedder(tmp_path_factory.mktemp("embedder") / "tiny-embedder.gguf")


@pytest.fixture(scope="module")
def plain(tiny_embedder_path):
    embedder = LlamaEmbedder(tiny_embedder_path)
    yield embedder
    embedder.close()


@pytest.fixture(scope="module")
def prefixed(tiny_embedder_path):
    embedder = LlamaEmbedder(tiny_embedder_path, name="tiny", query_prefix=QUERY_PREFIX,
                             document_prefix=DOCUMENT_PREFIX)
    yield embedder
    embedder.close()


def test_vectors_have_the_models_dimensions_and_unit_length(plain):
    vectors = plain.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 32) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert len({tuple(np.round(v, 5)) for v in vectors}) == len(TEXTS)  # texts differ
    alone = np.stack([plain.encode([text])[0] for text in TEXTS])
    assert np.allclose(vectors, alone, atol=1e-5)  # batching changes nothing
    assert plain.encode([]).shape == (0, 32)
    query = plain.encode_query(TEXTS[0])
    assert np.allclose(query, vectors[0], atol=1e-5) and plain.name == "tiny-embedder"


def test_prefixes_go_before_queries_and_documents(plain, prefixed):
    text = "capital of france"
    assert np.allclose(prefixed.encode_query(text), plain.encode_query(QUERY_PREFIX + text),
                       atol=1e-5)
    assert np.allclose(prefixed.encode([text])[0], plain.encode([DOCUMENT_PREFIX + text])[0],
                       atol=1e-5)
    assert not np.allclose(prefixed.encode_query(text), prefixed.encode([text])[0], atol=1e-3)
    # The prefix takes room from the text, never from the model's context.
    assert prefixed.max_tokens == plain.max_tokens - 3  # "search", "document", ":"


def test_word_pieces_are_counted_and_placed_in_the_text(plain):
    text = "The Cats sat on a mat, and PARIS is blue."
    assert plain.count_tokens([text, "", "cats"]) == [13, 0, 2]  # "cat" + "##s"
    spans = plain.token_spans(text)
    assert len(spans) == 13
    assert [text[a:b] for a, b in spans[:4]] == ["The", "Cat", "s", "sat"]
    starts = [a for a, _ in spans]
    assert starts == sorted(starts) and spans[-1][1] == len(text)


def test_a_text_longer_than_the_model_reads_is_cut_not_refused(plain):
    long = " ".join(["database backup restore"] * 200)
    assert plain.count_tokens([long])[0] > plain.max_tokens
    vector = plain.encode([long])[0]
    cut = plain.encode([" ".join(["database backup restore"] * 40)])[0]
    assert np.isfinite(vector).all() and np.linalg.norm(vector) == pytest.approx(1, abs=1e-5)
    assert not np.allclose(vector, cut)  # it read up to its limit, not just a little


def test_cancelling_stops_within_one_slice(plain, monkeypatch):
    texts = [f"the cat sat on the mat {n}" for n in range(MAX_SEQUENCES * 4)]
    control = Control()
    embed = plain._embed_locked

    def embed_then_cancel(sequences):
        control.cancel()  # cancelled while the first slice is embedded
        return embed(sequences)

    monkeypatch.setattr(plain, "_embed_locked", embed_then_cancel)
    calls = plain.calls
    with controlled(control), pytest.raises(WorkCancelled):
        plain.encode(texts)
    assert 0 < plain.calls - calls <= MAX_SEQUENCES  # that slice, and nothing after it


def test_a_query_goes_before_the_next_slice_of_a_batch(plain, monkeypatch):
    texts = [f"paris is the capital of france {n}" for n in range(MAX_SEQUENCES * 6)]
    order: list[str] = []
    started = threading.Event()
    embed = plain._embed_locked

    def recording(sequences):
        order.append("query" if len(sequences) == 1 else "slice")
        started.set()
        time.sleep(0.02)
        return embed(sequences)

    monkeypatch.setattr(plain, "_embed_locked", recording)
    worker = threading.Thread(target=plain.encode, args=(texts,))
    worker.start()
    assert started.wait(10)
    plain.encode_query("what is the capital of france")
    worker.join(30)
    assert order.count("query") == 1 and order.count("slice") >= 4
    assert order.index("query") <= 2  # at most the slice in hand, never the rest of the batch


def test_the_indexer_runs_on_it_and_search_finds_by_its_vectors(tiny_embedder_path, store,
                                                                   tmp_path):
    embedder = open_embedder(tiny_embedder_path, name="tiny-test",
                             query_prefix=QUERY_PREFIX, document_prefix=DOCUMENT_PREFIX)
    docs = tmp_path / "docs"
    docs.mkdir()
    for n, text in enumerate(TEXTS):
        (docs / f"note{n}.txt").write_text(text + ".\n", encoding="utf-8")
    try:
        report = Indexer(store, embedder).sync(docs)
        assert report.added == len(TEXTS) and report.chunks == len(TEXTS)
        assert store.vector_dim == 32 and store.get_meta("embedder") == "tiny-test"
        assert embedder.times_embedded("hello world.") == 1
        hits = store.search_vector(CHUNKS.name, embedder.encode([TEXTS[2] + "."])[0], 1)
        assert hits[0]["text"] == TEXTS[2] + "."
    finally:
        assert isinstance(embedder, LlamaEmbedder)
        embedder.close()


def test_a_chat_model_or_a_file_without_pooling_is_refused(tmp_path, tiny_model_path):
    with pytest.raises(ModelError, match="is a chat model"):
        LlamaEmbedder(tiny_model_path)
    no_pooling = write_tiny_embedder(tmp_path / "none.gguf", pooling=gguf.PoolingType.NONE)
    with pytest.raises(ModelError, match="how to pool"):
        LlamaEmbedder(no_pooling)


def test_without_the_converter_the_llama_runtime_says_how_to_install_it(tmp_path, monkeypatch):
    from assistant.knowledge import convert

    monkeypatch.setattr(convert, "converter_dir", lambda: tmp_path / "nowhere")
    with pytest.raises(ModelError, match="converter is not installed.*scripts/setup"):
        open_embedder(runtime="llama.cpp", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "embedders").exists() or not any(
        (tmp_path / "cache" / "embedders").iterdir())
