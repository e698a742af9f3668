"""``loremind bench knowledge --scale N``: search over N chunks built from real embeddings.

Random unit vectors say nothing about an index's recall: real embeddings crowd into topics,
which is what an approximate index has to cope with. The base here is real English prose (the
docstrings of Python's own standard library, read from its source files, so nothing is
downloaded) embedded by the app's embedder; each base chunk is replicated with a little noise
(cosine ≈ 0.94 to its original) until there are N rows. Queries are other real sentences,
embedded the same way; recall@10 compares the store's vector search with an exact scan of the
same vectors. The first pass over the queries (cold caches) is reported apart.
"""

from __future__ import annotations

import ast
import statistics
import sysconfig
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from assistant.knowledge.embedder import Embedder
from assistant.knowledge.search import search_knowledge
from assistant.store import CHUNKS, Store

BASE_CHUNKS = 1000
QUERIES = 200
NOISE = 0.35  # a replica is normalise(v + NOISE * g), g ~ N(0, I/d): cosine ≈ 0.94 to v
MIN_WORDS = 25
MAX_WORDS = 120


def real_texts(count: int) -> list[str]:
    """Up to ``count`` distinct prose passages: docstrings of the standard library's modules,
    classes and functions (at least ``MIN_WORDS`` words, cut at ``MAX_WORDS``), in a fixed order."""
    texts: list[str] = []
    seen: set[str] = set()
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                continue
            doc = ast.get_docstring(node)
            words = (doc or "").split()
            text = " ".join(words[:MAX_WORDS])
            if len(words) >= MIN_WORDS and text not in seen:
                seen.add(text)
                texts.append(text)
                if len(texts) >= count:
                    return texts
    return texts


def question_from(text: str) -> str:
    """A query-like line from a passage: its first sentence, at most 20 words."""
    sentence = text.split(". ")[0]
    return " ".join(sentence.split()[:20])


def replicate(base: np.ndarray, rows: int, rng: np.random.Generator) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """``rows`` unit vectors, each a noisy copy of a base vector; and which base each copies."""
    origin = np.arange(rows) % len(base)
    noise = rng.standard_normal((rows, base.shape[1])).astype(np.float32)
    vectors = base[origin] + NOISE * noise / np.sqrt(base.shape[1])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), origin


def fill(store: Store, texts: list[str], vectors: np.ndarray, origin: np.ndarray,
         batch: int = 20_000) -> None:
    """Add the replicated chunks to ``store`` (text of the base passage, the noisy vector)."""
    schema = CHUNKS.schema(store.vector_dim)
    for first in range(0, len(vectors), batch):
        part = slice(first, min(first + batch, len(vectors)))
        ids = np.arange(len(vectors))[part]
        n = len(ids)
        paths = [f"/scaled/doc{i // 8}.md" for i in ids]
        columns = {
            "id": [f"{p}#{i % 8}" for p, i in zip(paths, ids, strict=True)],
            "path": paths,
            "folder": ["/scaled"] * n,
            "ext": [".md"] * n,
            "ordinal": [int(i % 8) for i in ids],
            "page": [0] * n,
            "heading": [""] * n,
            "start": [0] * n,
            "end": [0] * n,
            "text": [texts[o] for o in origin[part]],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors[part].ravel()),
                                                         store.vector_dim),
        }
        store.add(CHUNKS.name, pa.table(columns, schema=schema))


def run_scale(store: Store, embedder: Embedder, rows: int, seed: int = 11,
              base_chunks: int = BASE_CHUNKS, queries: int = QUERIES) -> dict[str, Any]:
    """Build ``rows`` chunks in ``store`` from ``base_chunks`` real passages and measure
    recall@10 and query latency over ``queries`` distinct real queries."""
    rng = np.random.default_rng(seed)
    passages = real_texts(base_chunks + 2 * queries)
    base_texts = passages[:base_chunks]
    query_texts = list(dict.fromkeys(question_from(t) for t in passages[base_chunks:]))
    query_texts = query_texts[:queries]
    if len(query_texts) < queries:
        raise RuntimeError(f"only {len(passages)} passages found in the standard library")
    started = time.perf_counter()
    base = np.asarray(embedder.encode(base_texts), dtype=np.float32)
    embed_s = time.perf_counter() - started
    vectors, origin = replicate(base, rows, rng)
    started = time.perf_counter()
    fill(store, base_texts, vectors, origin)
    store.maintain()  # what `loremind index` does when it is done: build and fold indexes
    build_s = time.perf_counter() - started
    ids = np.array([f"/scaled/doc{i // 8}.md#{i % 8}" for i in range(rows)])

    cold = _timed_searches(store, embedder, query_texts)  # first pass: caches cold
    recalls, vector_ms = [], []
    for text in query_texts:
        query = np.asarray(embedder.encode_query(text), dtype=np.float32)
        exact = set(ids[np.argsort(-(vectors @ query))[:10]])
        t0 = time.perf_counter()
        found = store.search_vector(CHUNKS.name, query, 10, columns=["id"])
        vector_ms.append((time.perf_counter() - t0) * 1000)
        recalls.append(len(exact & {r["id"] for r in found}) / 10)
    warm = _timed_searches(store, embedder, query_texts)
    return {
        "scale": rows,
        "scale_base_passages": base_chunks,
        "scale_embed_s": round(embed_s, 1),
        "scale_build_s": round(build_s, 1),
        "queries": len(set(query_texts)),
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "recall_at_10_min": round(float(np.min(recalls)), 2),
        "vector_query_p50_ms": round(statistics.median(vector_ms), 2),
        "cold_query_p50_ms": round(statistics.median(cold), 2),
        "cold_query_p95_ms": round(_p95(cold), 2),
        "query_p50_ms": round(statistics.median(warm), 2),
        "query_p95_ms": round(_p95(warm), 2),
    }


def _timed_searches(store: Store, embedder: Embedder, queries: list[str]) -> list[float]:
    """Milliseconds of each hybrid search as the app runs it (query embedding included)."""
    times = []
    for query in queries:
        started = time.perf_counter()
        search_knowledge(store, embedder, query, k=5)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]
