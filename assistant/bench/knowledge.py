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

from assistant.bench.corpus import WORDS, write_corpus
from assistant.bench.knowledge_scale import run_scale
from assistant.knowledge.chunking import chunk_document
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.indexer import Indexer
from assistant.knowledge.parsers import ParsedDocument, parser_for
from assistant.knowledge.search import search_knowledge
from assistant.migrations import open_database
from assistant.store import CHUNKS, Store

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
            result.update({"corpus_query_p50_ms": p50, "corpus_query_p95_ms": p95})
            result.update(run_scale(open_database(root / "scaled"), embedder, scale))
    return result


def _chunk_texts(corpus: Path, embedder: Embedder) -> list[str]:
    """The chunks the indexer will produce, made by the same parsers and chunker."""
    texts: list[str] = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        parser = parser_for(path.suffix.lower())
        parsed = parser(path.read_bytes()) if parser is not None else None
        if isinstance(parsed, ParsedDocument):
            texts.extend(c.text for c in chunk_document(parsed, embedder))
    return texts


def _time_encode(embedder: Embedder, texts: list[str]) -> float:
    started = time.perf_counter()
    embedder.encode(texts)
    return time.perf_counter() - started


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
