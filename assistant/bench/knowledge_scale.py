"""``loremind bench knowledge --corpus debian --scale N``: search over N distinct real passages.

The rows are the real-size corpus's own chunks with the vectors the indexer stored for them
(nothing is embedded again), drawn at random from its index into a table of their own. When N is
more than the corpus has, the rest is other real prose: the docstrings of the Python modules on
this machine (the standard library's first, then the installed packages'), embedded once by the
app's embedder and cached under the cache folder; past those the table is capped, and the
result says so. Never copies: an approximate index gets no clusters for free.

recall@10 compares the store's vector search with an exact scan of the same vectors (numpy).
The first query runs in a new process, with the table's files dropped from the page cache
before it: timed from the process's start to the result (what ``loremind search`` waits with no
app running) and from opening the store to the result.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from assistant.knowledge.embedder import Embedder
from assistant.knowledge.embedding import TextEmbedder
from assistant.knowledge.search import search_knowledge
from assistant.migrations import open_database
from assistant.store import CHUNKS, Store

MIN_WORDS = 25
MAX_WORDS = 120
BATCH_ROWS = 20_000
CACHE_EVERY = 2_000  # docstrings embedded between saves of the cache
COLD_TIMEOUT_S = 300
OTHER_FOLDER = "/python-docstrings"
_PACKAGE_FOLDERS = {"site-packages", "dist-packages"}


def docstring_passages() -> Iterator[tuple[str, str]]:
    """Distinct prose passages, in a fixed order, with the module each comes from: docstrings
    of modules, classes and functions (at least ``MIN_WORDS`` words, cut at ``MAX_WORDS``) of
    the standard library, then of the installed packages."""
    stdlib, packages = (Path(sysconfig.get_paths()[key]) for key in ("stdlib", "purelib"))
    seen: set[str] = set()
    for root in (stdlib, packages):
        for path in sorted(root.rglob("*.py")):
            if root == stdlib and _PACKAGE_FOLDERS & set(path.relative_to(root).parts):
                continue  # installed packages may live inside the standard library's folder
            try:
                tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
            except (SyntaxError, ValueError, OSError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                    words = (ast.get_docstring(node) or "").split()
                    text = " ".join(words[:MAX_WORDS])
                    if len(words) >= MIN_WORDS and text not in seen:
                        seen.add(text)
                        yield str(path.relative_to(root)), text


def other_passages(count: int, embedder: TextEmbedder,
                   cache_dir: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Up to ``count`` docstring passages: where each comes from, its text and its vector
    (embedded once per embedder, then read from ``cache_dir``)."""
    picked: list[tuple[str, str]] = []
    for item in docstring_passages():
        if len(picked) >= count:
            break
        picked.append(item)
    texts = [text for _, text in picked]
    stem = cache_dir / "bench" / ("docstrings-" + "".join(
        c if c.isalnum() else "-" for c in embedder.name))
    cached_texts: list[str] = []
    cached = np.zeros((0, embedder.dim), dtype=np.float32)
    if stem.with_suffix(".json").is_file() and stem.with_suffix(".npy").is_file():
        cached_texts = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        cached = np.load(stem.with_suffix(".npy"))
        kept = min(len(cached_texts), len(cached))  # a run stopped between the two saves
        cached_texts, cached = cached_texts[:kept], cached[:kept]
    known = {text: row for row, text in enumerate(cached_texts)}
    missing = [text for text in texts if text not in known]
    stem.parent.mkdir(parents=True, exist_ok=True)
    for first in range(0, len(missing), CACHE_EVERY):  # a stopped run keeps what it embedded
        part = missing[first:first + CACHE_EVERY]
        known.update((text, len(cached_texts) + i) for i, text in enumerate(part))
        cached = np.concatenate([cached, embedder.encode(part)])
        cached_texts += part
        np.save(stem.with_suffix(".npy"), cached)
        stem.with_suffix(".json").write_text(json.dumps(cached_texts), encoding="utf-8")
    vectors = cached[[known[text] for text in texts]] if texts else cached[:0]
    return [source for source, _ in picked], texts, vectors


def passage_rows(sources: list[str], texts: list[str], vectors: np.ndarray,
                 dim: int) -> pa.Table:
    """Chunk rows for passages that belong to no indexed document."""
    n = len(texts)
    paths = [f"{OTHER_FOLDER}/{source}" for source in sources]
    return pa.table({
        "id": [f"{path}#{i}" for i, path in enumerate(paths)],
        "path": paths, "folder": [OTHER_FOLDER] * n, "ext": [".py"] * n,
        "ordinal": list(range(n)), "page": [0] * n, "heading": [""] * n,
        "start": [0] * n, "end": [0] * n, "text": texts,
        "vector": pa.FixedSizeListArray.from_arrays(
            pa.array(vectors.astype(np.float32).ravel()), dim),
    }, schema=CHUNKS.schema(dim))


def scaled_rows(source: Store, embedder: TextEmbedder, rows: int, cache_dir: Path,
                seed: int = 11) -> tuple[pa.Table, int]:
    """``rows`` distinct real passages (fewer when there are not as many): the corpus's chunks
    at random, then docstrings; and how many are the corpus's."""
    schema = CHUNKS.schema(source.vector_dim)
    real = source.arrow(CHUNKS.name).select(schema.names).cast(schema)
    pick = np.random.default_rng(seed).choice(real.num_rows, min(rows, real.num_rows),
                                              replace=False)
    chosen = real.take(pa.array(np.sort(pick)))
    if rows > chosen.num_rows:
        sources, texts, vectors = other_passages(rows - chosen.num_rows, embedder, cache_dir)
        chosen = pa.concat_tables([chosen, passage_rows(sources, texts, vectors,
                                                        source.vector_dim)])
    return chosen, len(pick)


def run_scale(source: Store, embedder: TextEmbedder, rows: int, queries: list[str], folder: Path,
              cache_dir: Path) -> dict[str, Any]:
    """Copy ``rows`` real passages from ``source`` into a new store in ``folder``, build its
    indexes as ``loremind index`` does, and measure recall@10, a cold first query in a new
    process and warm search latency over ``queries``."""
    table, from_corpus = scaled_rows(source, embedder, rows, cache_dir)
    if folder.exists():
        shutil.rmtree(folder)
    store = open_database(folder, source.vector_dim)
    try:
        started = time.perf_counter()
        for first in range(0, table.num_rows, BATCH_ROWS):
            store.add(CHUNKS.name, table.slice(first, BATCH_ROWS))
        store.maintain()  # what `loremind index` does when it is done: build and fold indexes
        build_s = time.perf_counter() - started
        indices = store.table(CHUNKS.name).list_indices()
        vectors = table.column("vector").combine_chunks().flatten().to_numpy().reshape(
            table.num_rows, source.vector_dim)
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        recalls, vector_ms = _recalls(store, embedder, queries, vectors,
                                      np.asarray(table.column("id").to_pylist()))
        search_knowledge(store, embedder, "warm up the caches", k=5)
        warm = [_timed_search(store, embedder, query) for query in queries]
    finally:
        store.close()
    return {
        "scale": rows,
        "scale_rows": table.num_rows,
        "scale_capped": table.num_rows < rows,
        "scale_corpus_chunks": from_corpus,
        "scale_docstring_passages": table.num_rows - from_corpus,
        "scale_build_s": round(build_s, 1),
        "scale_vector_index": any(CHUNKS.vector in index.columns for index in indices),
        "scale_queries": len(queries),
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "recall_at_10_min": round(float(np.min(recalls)), 2),
        "vector_query_p50_ms": round(statistics.median(vector_ms), 2),
        "scale_query_p50_ms": round(statistics.median(warm), 2),
        "scale_query_p95_ms": round(statistics.quantiles(warm, n=20)[-1], 2),
        **cold_first_query(folder, queries[0]),
    }


def _recalls(store: Store, embedder: TextEmbedder, queries: list[str], vectors: np.ndarray,
             ids: np.ndarray) -> tuple[list[float], list[float]]:
    """Each query's recall@10 (the store's vector search against an exact scan) and the
    vector search's milliseconds."""
    depth = min(10, len(ids))
    recalls, times = [], []
    for text in queries:
        query = np.asarray(embedder.encode_query(text), dtype=np.float32)
        exact = set(ids[np.argsort(-(vectors @ query))[:depth]])
        started = time.perf_counter()
        found = store.search_vector(CHUNKS.name, query, depth, columns=["id"])
        times.append((time.perf_counter() - started) * 1000)
        recalls.append(len(exact & {row["id"] for row in found}) / depth)
    return recalls, times


def _timed_search(store: Store, embedder: TextEmbedder, query: str) -> float:
    """Milliseconds of a hybrid search as the app runs it (query embedding included)."""
    started = time.perf_counter()
    search_knowledge(store, embedder, query, k=5)
    return (time.perf_counter() - started) * 1000


def cold_first_query(folder: Path, query: str) -> dict[str, Any]:
    """One search in a new process, over a store whose files are out of the page cache."""
    evicted = evict_from_page_cache(folder)
    spawned = time.time()
    done = subprocess.run([sys.executable, "-m", "assistant.bench.knowledge_scale",
                           str(folder), query], capture_output=True, text=True,
                          timeout=COLD_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the cold query failed: {done.stderr.strip()[-600:]}")
    child = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "cold_process_to_result_ms": round((child["result_at"] - spawned) * 1000, 1),
        "cold_embedder_load_ms": child["embedder_load_ms"],
        "cold_open_to_result_ms": child["open_to_result_ms"],
        "cold_results": child["results"],
        "cold_page_cache_evicted": evicted,
    }


def evict_from_page_cache(folder: Path) -> bool:
    """Drop ``folder``'s files from the operating system's cache (written out first), so the
    next read comes from the disk; False where the system offers no way to."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return True


def _first_query(folder: Path, query: str) -> None:
    """The new process's part: load the embedder, open the store, search once, print times."""
    from assistant.defaults import force_offline

    force_offline()
    started = time.perf_counter()
    embedder = Embedder()
    opened = time.perf_counter()
    store = open_database(folder, embedder.dim)
    results = search_knowledge(store, embedder, query, k=5)
    finished = time.perf_counter()
    print(json.dumps({"result_at": time.time(), "results": len(results),
                      "embedder_load_ms": round((opened - started) * 1000, 1),
                      "open_to_result_ms": round((finished - opened) * 1000, 1)}))
    store.close()


if __name__ == "__main__":
    _first_query(Path(sys.argv[1]), sys.argv[2])
