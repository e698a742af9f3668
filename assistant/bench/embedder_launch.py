"""The new process of ``loremind bench embedder``: one runtime from launch to first search, then
indexing and single searches, all through the core as the app runs them.

Run as ``python -m assistant.bench.embedder_launch '<json>'`` by :mod:`assistant.bench.embedder`,
which notes the time before it starts the process: the first result's time less that is what a
user waits for from launch to the first search (imports, loading the embedder, embedding the
query, searching). Its peak memory is this process's own.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.core import Loremind
from assistant.knowledge.embedding import RUNTIMES, Runtime, TextEmbedder, open_embedder
from assistant.knowledge.folders import folder_key
from assistant.paths import AppPaths
from assistant.process_memory import peak_rss_bytes


def bench_paths(root: Path) -> AppPaths:
    """An app's four folders under ``root`` (a benchmark's own home)."""
    return AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()


def watching(corpus: Path) -> Settings:
    """The default settings, with ``corpus`` the one watched folder (so opening keeps its
    documents)."""
    settings = Settings()
    settings.knowledge.folders = [folder_key(corpus)]
    return settings


def open_core(home: Path, corpus: Path, embedder: TextEmbedder) -> Loremind:
    """The core of the app at ``home`` with ``embedder`` lent to it."""
    return Loremind.open(bench_paths(home), watching(corpus), embedder=embedder)


def launch(runtime: Runtime, search_home: Path, index_home: Path, corpus: Path,
           cache_dir: Path, queries: list[str], started: float) -> dict[str, Any]:
    """Everything measured in this process; ``started`` is the launcher's clock at the start."""
    began = time.time()
    embedder = open_embedder(runtime=runtime, cache_dir=cache_dir)
    loaded = time.time()
    core = open_core(search_home, corpus, embedder)
    results = core.knowledge.search(queries[0])
    first_result_at = time.time()
    first_rss = peak_rss_bytes()
    core.close()
    core = open_core(index_home, corpus, embedder)
    try:
        core.load_knowledge()
        core.knowledge.add_folder(corpus)
        report = core.knowledge.index(corpus)
        searches, embeds = [], []
        for query in queries * 3:
            clock = time.perf_counter()
            core.knowledge.search(query)
            searches.append((time.perf_counter() - clock) * 1000)
            clock = time.perf_counter()
            embedder.encode_query(query)
            embeds.append((time.perf_counter() - clock) * 1000)
    finally:
        core.close()
    return {
        "first_search_ms": round((first_result_at - started) * 1000),
        "imports_ms": round((began - started) * 1000),
        "embedder_load_ms": round((loaded - began) * 1000),
        "open_and_search_ms": round((first_result_at - loaded) * 1000),
        "first_results": len(results),
        "peak_rss_first_search_mb": round(first_rss / 2**20),
        "chunks_indexed": report.chunks,
        "index_chunks_per_s": round(report.chunks / report.seconds, 2) if report.chunks else None,
        "search_p50_ms": round(statistics.median(searches), 2),
        "query_embed_p50_ms": round(statistics.median(embeds), 2),
        "peak_rss_mb": round(peak_rss_bytes() / 2**20),
    }


def main(argv: list[str]) -> None:
    args = json.loads(argv[0])
    runtime = args["runtime"]
    if runtime not in RUNTIMES:
        raise SystemExit(f"unknown runtime {runtime!r}")
    result = launch(runtime, Path(args["search_home"]), Path(args["index_home"]),
                    Path(args["corpus"]), Path(args["cache_dir"]), list(args["queries"]),
                    float(args["started"]))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
