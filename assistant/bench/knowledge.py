"""``loremind bench knowledge``: embedder speed vs end-to-end indexing, re-sync and query latency.

The baseline (the raw embedder on exactly the chunks the indexer produced) is measured in the
same run, so ``ratio`` says how much the indexing pipeline costs on this machine.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from assistant.bench.corpus import WORDS, write_corpus
from assistant.knowledge.chunking import chunk_document
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.indexer import Indexer
from assistant.knowledge.parsers import parser_for
from assistant.knowledge.search import search_knowledge
from assistant.migrations import open_database
from assistant.store import CHUNKS, Store

SYNTHETIC_VOCABULARY = 50_000
QUERIES = [
    "how do I install the printer driver", "error restoring a backup", "best soil for tomatoes",
    "train tickets to the museum", "patient medicine dose", "database query is slow",
    "weather forecast rain", "bake with butter and sugar", "invoice for the customer order",
    "engine fuel and brake", "password", "keyboard", "harbour", "schedule meeting team",
]


def run_knowledge_bench(files: int = 300, scale: int = 0) -> dict[str, Any]:
    """All figures for one run; ``scale`` > 0 also measures queries over that many chunks."""
    embedder = Embedder()
    embedder.encode([" ".join(WORDS[: 40 + n * 4]) for n in range(32)])  # warm up every shape
    with tempfile.TemporaryDirectory(prefix="loremind-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        write_corpus(corpus, files)
        store = open_database(root / "db")
        indexer = Indexer(store, embedder)
        # The raw embedder runs on the same chunks before and after indexing; their mean is the
        # baseline, so a machine that gets busier or quieter mid-run skews both sides alike.
        before = _time_encode(embedder, _chunk_texts(corpus, embedder))
        started = time.perf_counter()
        indexer.sync(corpus)
        store.maintain()  # what `loremind index` does once it is done: fold rows into indexes
        index_s = time.perf_counter() - started
        texts = store.arrow(CHUNKS.name, columns=["text"]).column("text").to_pylist()
        embed_s = (before + _time_encode(embedder, texts)) / 2
        chunks = len(texts)
        started = time.perf_counter()
        indexer.sync(corpus)
        resync_s = time.perf_counter() - started
        p50, p95 = _latencies(store, embedder)
        result: dict[str, Any] = {
            "files": files,
            "chunks": chunks,
            "embed_chunks_per_s": round(chunks / embed_s, 2),
            "index_chunks_per_s": round(chunks / index_s, 2),
            "ratio": round(embed_s / index_s, 3),
            "resync_unchanged_s": round(resync_s, 3),
            "query_p50_ms": p50,
            "query_p95_ms": p95,
        }
        if scale:
            scaled = open_database(root / "scaled")
            started = time.perf_counter()
            fill_synthetic(scaled, scale)
            scaled.maintain()
            p50_scaled, p95_scaled = _latencies(scaled, embedder)
            result.update({
                "corpus_query_p50_ms": p50, "corpus_query_p95_ms": p95,
                "scale": scale, "scale_build_s": round(time.perf_counter() - started, 1),
                "query_p50_ms": p50_scaled, "query_p95_ms": p95_scaled,
            })
    return result


def _chunk_texts(corpus: Path, embedder: Embedder) -> list[str]:
    """The chunks the indexer will produce, made by the same parsers and chunker."""
    texts = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        parser = parser_for(path.suffix.lower())
        if parser is not None:
            texts.extend(c.text for c in chunk_document(parser(path.read_bytes()), embedder))
    return texts


def _time_encode(embedder: Embedder, texts: list[str]) -> float:
    started = time.perf_counter()
    embedder.encode(texts)
    return time.perf_counter() - started


def synthetic_text(rng: np.random.Generator, count: int, words: int = 60) -> list[str]:
    """Chunk-like texts: mostly Zipf-distributed filler terms, a sixth topical words.

    Real text has a long-tailed vocabulary; drawing every word from the ~200 topical ones
    would put each query term in a quarter of all chunks, which no real corpus does.
    """
    topical = rng.integers(0, len(WORDS), size=(count, words // 6))
    filler = rng.zipf(1.3, size=(count, words - words // 6)) % SYNTHETIC_VOCABULARY
    return [" ".join([WORDS[t] for t in topics] + [f"t{f}" for f in fills])
            for topics, fills in zip(topical, filler, strict=True)]


def fill_synthetic(store: Store, rows: int, seed: int = 11, batch: int = 20_000) -> None:
    """Add ``rows`` synthetic chunks with random unit vectors (for latency, not quality)."""
    rng = np.random.default_rng(seed)
    schema = CHUNKS.schema(store.vector_dim)
    for first in range(0, rows, batch):
        n = min(batch, rows - first)
        vectors = rng.standard_normal((n, store.vector_dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        paths = [f"/synthetic/part{(first + i) % 50}/doc{(first + i) // 4}.md" for i in range(n)]
        columns = {
            "id": [f"{p}#{(first + i) % 4}" for i, p in enumerate(paths)],
            "path": paths,
            "folder": ["/synthetic"] * n,
            "ext": [".md"] * n,
            "ordinal": [(first + i) % 4 for i in range(n)],
            "page": [0] * n,
            "heading": [""] * n,
            "start": [0] * n,
            "end": [0] * n,
            "text": synthetic_text(rng, n),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()),
                                                         store.vector_dim),
        }
        store.add(CHUNKS.name, pa.table(columns, schema=schema))


def _latencies(store: Store, embedder: Embedder, rounds: int = 3) -> tuple[float, float]:
    search_knowledge(store, embedder, "warm up", k=5)
    times = []
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            search_knowledge(store, embedder, query, k=5)
            times.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(times, n=20)[-1]
    return round(statistics.median(times), 2), round(p95, 2)
