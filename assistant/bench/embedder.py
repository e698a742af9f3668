"""``loremind bench embedder``: the shipped all-MiniLM-L6-v2 on sentence-transformers against
the same model converted to GGUF and run by llama.cpp, in the same run.

First the proof that they are the same model: the cosine between the two runtimes' vectors of
real chunks (Debian's PostgreSQL documentation, cut by the app's own parser and chunker).
Then what a user waits for with each runtime, each in a process of its own started the same way:
the time from launch to the first search's results (over a small store both can search, as the
model keeps its name), peak memory, chunks per second when the core indexes a real folder, and
one search's latency. llama.cpp's batch size is measured too (tokens per ``llama_decode``).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.bench.embedder_launch import open_core
from assistant.bench.retrieval import bench_home
from assistant.knowledge.chunking import TokenCounter, chunk_document
from assistant.knowledge.convert import converted_embedder
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.embedding import RUNTIMES, TextEmbedder, read_max_tokens
from assistant.knowledge.llama_embedder import LlamaEmbedder
from assistant.knowledge.parsers import ParsedDocument, parser_for

DOC_FOLDER = Path("/usr/share/doc/postgresql-doc-15/html")
QUERIES = [
    "how do I restore a database from a backup", "what does VACUUM do",
    "create an index without locking the table", "continuous archiving of WAL files",
    "change the type of a column", "which port does the server listen on",
    "grant read access to a user", "why is my query slow",
]
BATCH_TOKENS = (256, 512, 1024, 2048)
SWEEP_CHUNKS = 200  # chunks embedded at each batch size
LAUNCH_TIMEOUT_S = 900


class CorpusMissingError(RuntimeError):
    """The documentation the benchmark reads is not installed."""


def real_chunks(count: int, counter: TokenCounter, folder: Path = DOC_FOLDER) -> list[str]:
    """The first ``count`` chunks the app's own HTML parser and chunker make of the pages in
    ``folder`` (in name order)."""
    texts: list[str] = []
    for page in doc_pages(folder):
        parsed = parser_for(page.suffix.lower())
        document = parsed(page.read_bytes()) if parsed is not None else None
        if isinstance(document, ParsedDocument):
            texts.extend(chunk.text for chunk in chunk_document(document, counter))
        if len(texts) >= count:
            break
    return texts[:count]


def doc_pages(folder: Path = DOC_FOLDER) -> list[Path]:
    """The HTML pages of the documentation (raises when it is not installed)."""
    pages = sorted(folder.glob("*.html"))
    if not pages:
        raise CorpusMissingError(f"{folder} holds no HTML pages: install postgresql-doc-15 "
                                 "(scripts/setup does).")
    return pages


def cosines(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two sets of vectors."""
    dots = (first * second).sum(axis=1)
    return np.asarray(dots / (np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)))


def equivalence(reference: TextEmbedder, other: TextEmbedder,
                texts: Sequence[str]) -> dict[str, Any]:
    """How close the two runtimes' vectors are, on ``texts`` and on the queries."""
    documents = cosines(reference.encode(texts), other.encode(texts))
    queries = cosines(np.stack([reference.encode_query(q) for q in QUERIES]),
                      np.stack([other.encode_query(q) for q in QUERIES]))
    tokens_agree = sum(a == b for a, b in zip(reference.count_tokens(texts),
                                              other.count_tokens(texts), strict=True))
    return {
        "chunks": len(texts),
        "cosine_min": round(float(documents.min()), 7),
        "cosine_mean": round(float(documents.mean()), 7),
        "cosine_p01": round(float(np.quantile(documents, 0.01)), 7),
        "query_cosine_min": round(float(queries.min()), 7),
        "token_counts_equal": tokens_agree,
    }


def encode_rate(embedder: TextEmbedder, texts: Sequence[str]) -> float:
    """Chunks per second of one ``encode`` call (the model warmed up first)."""
    embedder.encode(texts[:4])
    started = time.perf_counter()
    embedder.encode(texts)
    return round(len(texts) / (time.perf_counter() - started), 2)


def query_p50_ms(embedder: TextEmbedder) -> float:
    """Median milliseconds to embed one query."""
    embedder.encode_query(QUERIES[0])
    times = []
    for query in QUERIES * 3:
        started = time.perf_counter()
        embedder.encode_query(query)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def batch_sweep(model: Path, texts: Sequence[str],
                sizes: Sequence[int] = BATCH_TOKENS) -> dict[str, float]:
    """llama.cpp's chunks per second at each batch size (tokens per llama_decode)."""
    rates = {}
    for size in sizes:
        embedder = LlamaEmbedder(model, max_tokens=read_max_tokens(_minilm_folder()),
                                 batch_tokens=size)
        try:
            rates[str(size)] = encode_rate(embedder, texts)
        finally:
            embedder.close()
    return rates


def run_embedder_bench(chunks: int = 1000, files: int = 40, sweep: bool = True,
                       home: Path | None = None) -> dict[str, Any]:
    """All figures of one run: equivalence over ``chunks`` real chunks, raw speeds, the batch
    sweep (``sweep``), and each runtime launched in a new process over a folder of ``files``
    documentation pages."""
    # ``home`` kept: the converted model and the corpus are reused.
    with bench_home(home, "loremind-embedder-") as root:
        cache_dir = root / "cache"
        started = time.perf_counter()
        converted = converted_embedder(cache_dir)
        convert_s = time.perf_counter() - started
        reference = Embedder()
        texts = real_chunks(chunks, reference)
        llama = LlamaEmbedder(converted, name=reference.name,
                              max_tokens=read_max_tokens(_minilm_folder()))
        try:
            result: dict[str, Any] = {
                "model": reference.name, "gguf": converted.name,
                "convert_s": round(convert_s, 2),
                "equivalence": equivalence(reference, llama, texts),
                "encode_chunks_per_s": {"sentence-transformers": encode_rate(reference, texts),
                                        "llama.cpp": encode_rate(llama, texts)},
                "query_embed_p50_ms": {"sentence-transformers": query_p50_ms(reference),
                                       "llama.cpp": query_p50_ms(llama)},
            }
        finally:
            llama.close()
        if sweep:
            result["llama_batch_tokens_chunks_per_s"] = batch_sweep(
                converted, texts[:SWEEP_CHUNKS])
        corpus = root / "corpus"
        _copy_pages(doc_pages()[:files], corpus)
        search_home = root / "search-home"
        core = open_core(search_home, corpus, reference)  # the small store both search
        try:
            core.load_knowledge()
            core.knowledge.add_folder(corpus)
            core.knowledge.index(corpus)
            core.knowledge.maintain()
        finally:
            core.close()
        result["launched"] = {runtime: _launch(runtime, root, corpus, search_home, cache_dir)
                              for runtime in RUNTIMES}
        return result


def _launch(runtime: str, root: Path, corpus: Path, search_home: Path,
            cache_dir: Path) -> dict[str, Any]:
    index_home = root / f"index-{runtime}"
    shutil.rmtree(index_home, ignore_errors=True)  # a fresh index each run
    started = time.time()
    args = {"runtime": runtime, "search_home": str(search_home), "index_home": str(index_home),
            "corpus": str(corpus), "cache_dir": str(cache_dir), "queries": QUERIES,
            "started": started}
    done = subprocess.run([sys.executable, "-m", "assistant.bench.embedder_launch",
                           json.dumps(args)], capture_output=True, text=True,
                          timeout=LAUNCH_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {runtime} process failed: {done.stderr.strip()[-800:]}")
    launched: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return launched


def _copy_pages(pages: Sequence[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for page in pages:
        target = folder / page.name
        if not target.exists():
            shutil.copy2(page, target)


def _minilm_folder() -> Path:
    from assistant.defaults import embedded_embedder

    return embedded_embedder()


