"""The shipped all-MiniLM-L6-v2 converted by llama.cpp's own converter and run by llama.cpp
gives the vectors sentence-transformers gives: on 1,000 chunks of real documentation nobody
here wrote (Debian's PostgreSQL manual, cut by the app's own parser and chunker)."""

from __future__ import annotations

import pytest

from assistant.bench.embedder import cosines, real_chunks
from assistant.defaults import EMBEDDER_NAME
from assistant.knowledge.convert import converter_missing
from assistant.knowledge.embedding import open_embedder
from assistant.knowledge.llama_embedder import LlamaEmbedder

pytestmark = pytest.mark.slow  # both runtimes embed 1,000 real chunks
CHUNKS = 1000


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    missing = converter_missing()
    if missing:
        pytest.skip(missing)
    embedder = open_embedder(runtime="llama.cpp", cache_dir=tmp_path_factory.mktemp("cache"))
    assert isinstance(embedder, LlamaEmbedder)
    yield embedder
    embedder.close()


def test_llama_cpp_vectors_equal_sentence_transformers_on_real_chunks(embedder, converted):
    texts = real_chunks(CHUNKS, embedder)
    assert len(texts) == CHUNKS and len(set(texts)) > CHUNKS * 0.95
    assert converted.name == embedder.name == EMBEDDER_NAME  # an index stays valid across them
    assert converted.dim == embedder.dim and converted.max_tokens == embedder.max_tokens
    assert converted.count_tokens(texts) == embedder.count_tokens(texts)
    similarity = cosines(embedder.encode(texts), converted.encode(texts))
    assert similarity.min() >= 0.999, sorted(similarity)[:5]
    question = "how do I restore a database from a backup"
    assert cosines(embedder.encode_query(question)[None],
                   converted.encode_query(question)[None])[0] >= 0.999
