"""The scaled knowledge benchmark: real passages, noisy replicas, recall against an exact scan."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.bench.knowledge_scale import real_texts, replicate, run_scale


def test_passages_are_distinct_real_prose():
    texts = real_texts(300)
    assert len(texts) == len(set(texts)) == 300
    assert all(25 <= len(t.split()) <= 120 for t in texts)


def test_replicas_stay_near_their_base_vector():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((10, 384)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    vectors, origin = replicate(base, 1000, rng)
    cosines = np.sum(vectors * base[origin], axis=1)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert 0.9 < cosines.mean() < 0.97
    assert len(np.unique(vectors, axis=0)) == 1000


@pytest.mark.slow
def test_scaled_search_finds_what_an_exact_scan_finds(embedder, store):
    result = run_scale(store, embedder, rows=3000, base_chunks=60, queries=20)
    assert result["queries"] == 20
    assert result["recall_at_10"] >= 0.95
    assert result["query_p50_ms"] > 0 and result["cold_query_p50_ms"] > 0
