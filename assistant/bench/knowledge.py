"""``loremind bench knowledge``: indexing speed, re-sync and search latency.

Over the generated corpus (the default), the baseline is the raw embedder on exactly the chunks
the indexer produced, measured in the same run, so ``ratio`` says how much the indexing pipeline
costs on this machine. Over the real-size corpus (``--corpus debian``: Debian's PostgreSQL and
git documentation and the Linux man pages, see :mod:`assistant.bench.debian_corpus`), everything
goes through the core as the app runs it: the folder is indexed as the core's job, re-synced
with nothing changed, and searched as another front end searches the running app, idle and
while an answer streams (the idle searches are that comparison's baseline).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.bench.corpus import WORDS, write_corpus
from assistant.bench.debian_corpus import corpus_queries, prepare_corpus
from assistant.bench.knowledge_scale import run_scale
from assistant.bench.retrieval import bench_home
from assistant.chat.answering import AskOptions
from assistant.chat.events import Done, Event, Failed, Token
from assistant.config import Settings
from assistant.core import Loremind
from assistant.core.served import serve_query
from assistant.engine.model import SamplingParams
from assistant.instance import Query
from assistant.knowledge.chunking import chunk_document
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.folders import folder_key
from assistant.knowledge.indexer import Indexer, ProgressCallback
from assistant.knowledge.parsers import ParsedDocument, parser_for
from assistant.knowledge.search import search_knowledge
from assistant.migrations import open_database
from assistant.paths import AppPaths
from assistant.process_memory import peak_rss_bytes
from assistant.statuses import DocumentStatus
from assistant.store import CHUNKS, Store

if TYPE_CHECKING:
    from assistant.core import AnswerRun
    from assistant.engine.protocol import ChatEngine

QUERIES = [
    "how do I install the printer driver", "error restoring a backup", "best soil for tomatoes",
    "train tickets to the museum", "patient medicine dose", "database query is slow",
    "weather forecast rain", "bake with butter and sugar", "invoice for the customer order",
    "engine fuel and brake", "password", "keyboard", "harbour", "schedule meeting team",
]


def run_knowledge_bench(files: int = 300) -> dict[str, Any]:
    """All figures for one run over the generated corpus of ``files`` documents."""
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
        return {
            "files": files,
            "chunks": chunks,
            "embed_chunks_per_s": round(chunks / embed_s, 2),
            "index_chunks_per_s": round(chunks / index_s, 2),
            "ratio": round(embed_s / index_s, 3),
            "resync_unchanged_s": round(resync_s, 3),
            "query_p50_ms": p50,
            "query_p95_ms": p95,
        }


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


# -- the real-size corpus ------------------------------------------------------------------------

SEARCH_K = 5  # what `loremind search` returns by default
SEARCH_TIMEOUT_S = 60.0
ANSWER_TOKENS = 1024
# Long enough to stream through many searches; another answer starts if one ends first.
LONG_ANSWER = ("Write a long, detailed guide to backing up a PostgreSQL database: pg_dump, "
               "pg_basebackup, WAL archiving and point-in-time recovery, with an example of each.")


def run_real_bench(home: Path | None = None, limit: int | None = None, scale: int = 0,
                   cancel: threading.Event | None = None, progress: ProgressCallback | None = None,
                   queries: int | None = None, model: ChatEngine | None = None,
                   embedder: Embedder | None = None) -> dict[str, Any]:
    """Index the real-size corpus (``limit`` files of it) through the core, as the app does,
    then re-sync it unchanged and time searches idle and while an answer streams; ``scale`` > 0
    also measures search over that many of its chunks. ``home`` keeps the corpus and its index
    for the next run, which resumes an unfinished index and re-syncs a finished one.
    ``queries`` caps the queries (quick runs); ``model`` and ``embedder`` are lent to the core."""
    with bench_home(home) as root:
        corpus = root / "corpus"
        started = time.perf_counter()
        files = prepare_corpus(corpus, limit, cancel)
        prepare_s = time.perf_counter() - started
        if cancel is not None and cancel.is_set():
            return {"cancelled": True, "files": len(files)}
        paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
        settings = Settings()  # the embedded demo model; the corpus is the one watched folder,
        settings.knowledge.folders = [folder_key(corpus)]  # so opening keeps its documents
        core = Loremind.open(paths, settings, model=model, embedder=embedder)
        try:
            return _measure_real(core, corpus, files, cancel, progress, queries, scale) | {
                "prepare_s": round(prepare_s, 1), "limit": limit}
        finally:
            core.close()


def _measure_real(core: Loremind, corpus: Path, files: list[Path],
                  cancel: threading.Event | None, progress: ProgressCallback | None,
                  queries: int | None, scale: int) -> dict[str, Any]:
    core.load_knowledge()
    knowledge = core.knowledge
    knowledge.add_folder(corpus)
    report = knowledge.index(corpus, progress, cancel)
    if report.cancelled:
        return {"cancelled": True, "files": len(files), "chunks_this_run": report.chunks}
    started = time.perf_counter()
    knowledge.maintain()  # what `loremind index` does when it is done: indexes and compaction
    maintain_s = time.perf_counter() - started
    started = time.perf_counter()
    resync = knowledge.index(corpus)
    resync_s = time.perf_counter() - started
    status = knowledge.status()
    database = Path(status["database"])
    chosen = corpus_queries(files)[:queries]
    _served_search(core, "warm up the caches")
    idle = [_served_search(core, query) for query in chosen]
    peak_rss_mb = peak_rss_bytes() / 2**20  # indexing and searching, before the chat model
    streaming, answers = _searches_while_answering(core, chosen)
    result: dict[str, Any] = {
        "files": len(files),
        "corpus_mb": round(sum(p.stat().st_size for p in files) / 2**20, 1),
        "documents_indexed": status["by_status"].get(DocumentStatus.INDEXED, 0),
        "documents_not_indexed": len(status["not_indexed"]),
        "chunks": status["chunks"],
        "chunks_this_run": report.chunks,
        "index_s": round(report.seconds, 1),
        # Only what this run embedded: a resumed run counts the rest, a finished home none.
        "chunks_per_s": round(report.chunks / report.seconds, 2) if report.chunks else None,
        "maintain_s": round(maintain_s, 1),
        "vector_index": CHUNKS.vector in _indexed_columns(core),
        "peak_rss_mb": round(peak_rss_mb),
        # The database folder as it stands: compaction keeps old versions for a while.
        "index_size_mb": round(_folder_bytes(database) / 2**20, 1),
        "unchanged_resync_s": round(resync_s, 3),
        "unchanged_resync_changes": resync.added + resync.updated + resync.renamed
        + resync.removed + resync.skipped + resync.failed,
        "queries": len(chosen),
        "search_p50_ms": _p50(idle),
        "search_p95_ms": _p95(idle),
        "search_while_answering_p50_ms": _p50(streaming),
        "search_while_answering_p95_ms": _p95(streaming),
        "answers_streamed": answers,
        "model": core.models.loaded_name,
    }
    if scale:
        parts = core.parts
        result.update(run_scale(parts.store, parts.embedder, scale, chosen,
                                database.parent / "scaled", core.paths.cache_dir))
    return result


def _served_search(core: Loremind, query: str) -> float:
    """Milliseconds of one search as another front end gets it from the running app (``loremind
    search`` while the window is open): a job on the core's interactive lane."""
    ended = threading.Event()
    replies: list[dict[str, Any]] = []

    def send(reply: dict[str, Any]) -> None:
        replies.append(reply)
        if reply["kind"] in ("end", "error"):
            ended.set()

    args = {"query": query, "k": SEARCH_K, "folders": [], "types": []}
    started = time.perf_counter()
    serve_query(core, Query("search", args), send, threading.Event())
    if not ended.wait(SEARCH_TIMEOUT_S) or replies[-1]["kind"] == "error":
        raise RuntimeError(f"the search for {query!r} failed: {replies[-1:]}")
    return (time.perf_counter() - started) * 1000


def _searches_while_answering(core: Loremind, queries: list[str]) -> tuple[list[float], int]:
    """Each query's search time while an answer streams (one that ended during a search is
    searched again under the next answer); and how many answers it took."""
    times: list[float] = []
    answers = 0
    streaming = threading.Event()  # a token came and the answer is not done
    run: AnswerRun | None = None

    def follow(event: Event) -> None:
        if isinstance(event, Token):
            streaming.set()
        elif isinstance(event, Done | Failed):
            streaming.clear()

    try:
        for query in queries:
            while True:
                if run is None or run.ended or not streaming.is_set():
                    if answers > len(queries):
                        raise RuntimeError("every answer ended before a search did")
                    if run is not None:
                        run.cancel()
                        run.wait()
                    streaming.clear()
                    run = core.chat.start(core.chat.new_session(temporary=True), LONG_ANSWER,
                                          AskOptions(sampling=SamplingParams.greedy(
                                              ANSWER_TOKENS)))
                    for event in run.follow(follow)[0]:
                        follow(event)
                    answers += 1
                    if not streaming.wait(SEARCH_TIMEOUT_S):
                        raise RuntimeError("the answer streamed nothing")
                took = _served_search(core, query)
                if streaming.is_set():
                    times.append(took)
                    break
    finally:
        if run is not None:
            run.cancel()
            run.wait()
    return times, answers


def _indexed_columns(core: Loremind) -> set[str]:
    indices = core.parts.store.table(CHUNKS.name).list_indices()
    return {column for index in indices for column in index.columns}


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _p50(times: list[float]) -> float:
    return round(statistics.median(times), 2)


def _p95(times: list[float]) -> float:
    return round(statistics.quantiles(times, n=20)[-1], 2) if len(times) > 1 else _p50(times)
