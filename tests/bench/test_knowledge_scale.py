"""The scaled knowledge benchmark's other real prose: docstrings, embedded once and cached.
(The scaled search itself is tested over a real corpus in test_knowledge_real.py.)"""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest

from assistant.bench.knowledge_scale import MAX_WORDS, MIN_WORDS, docstring_passages, other_passages


def test_docstrings_are_distinct_real_prose():
    passages = list(islice(docstring_passages(), 300))
    texts = [text for _, text in passages]
    assert len(texts) == len(set(texts)) == 300
    assert all(MIN_WORDS <= len(t.split()) <= MAX_WORDS for t in texts)
    assert all(source.endswith(".py") for source, _ in passages)


@pytest.mark.slow
def test_docstrings_are_embedded_once_then_read_from_the_cache(embedder, tmp_path):
    sources, texts, vectors = other_passages(12, embedder, tmp_path)
    assert len(sources) == len(texts) == 12 and vectors.shape == (12, embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    before = embedder.calls
    _, again, cached = other_passages(12, embedder, tmp_path)
    assert embedder.calls == before and again == texts and np.array_equal(cached, vectors)
    _, more, grown = other_passages(15, embedder, tmp_path)
    assert embedder.calls == before + 3  # only the three new passages
    assert more[:12] == texts and np.array_equal(grown[:12], vectors)
