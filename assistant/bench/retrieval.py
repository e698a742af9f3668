"""``loremind bench retrieval``: is the right passage first, on documentation nobody here wrote?

The corpus is a fixed subset of Debian's ``postgresql-doc-15`` and ``git-doc`` HTML (listed in
``benchmarks/retrieval/corpus.txt``); the questions were written by reading those pages
(``benchmarks/retrieval/questions.json``). Every question goes through ``search_knowledge``,
the very function behind ``loremind search`` and the chat's sources, and two baselines run in
the same process on the same chunks: the full-text index alone (the same fields and boosts as
the search's word leg) and the vector search alone, each scored on its chunks and on the
passages the search's own ``passages`` grows from them. What the chat's sources then cost the
prompt is in ``retrieval_sources``.

Any embedder can be measured (``--embedder``: the shipped all-MiniLM-L6-v2 on sentence-transformers
by default, ``builtin-llama`` for the same model converted to GGUF on llama.cpp, or a downloaded
catalogue embedder or GGUF file), each into an index of its own under the home; with a reranker
(``--reranker``) the search and the chat's sources are reranked as the app reranks them, and the
same search without it runs beside them (``norerank_``) as the baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import KnowledgeSettings
from assistant.errors import LoremindError
from assistant.knowledge.embedding import TextEmbedder, open_embedder
from assistant.knowledge.indexer import Indexer
from assistant.knowledge.reranker import LlamaReranker
from assistant.knowledge.search import RERANK_BUDGET_MS, WORD_FIELDS, search_knowledge
from assistant.knowledge.sections import passages
from assistant.migrations import open_database
from assistant.models.retrieval_files import open_reranker, retrieval_file
from assistant.paths import AppPaths, app_paths
from assistant.store import CHUNKS, Store

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "retrieval"
DEFAULT_EVAL = BENCH_DIR / "questions.json"
DOC_ROOT = Path("/usr/share/doc")
DEBIAN_PACKAGES = ("postgresql-doc-15", "git-doc")
DEPTH = 10  # page metrics are computed over the first 10 results
NEEDLE_DEPTH = 5
_COLUMNS = ["id", "path", "heading", "text"]
_PASSAGE_COLUMNS = [*_COLUMNS, "ordinal", "start", "end"]
BUILTIN = "builtin"  # the shipped all-MiniLM-L6-v2 on sentence-transformers (the app's default)
BUILTIN_LLAMA = "builtin-llama"  # the same model, converted to GGUF, on llama.cpp

Ranker = Callable[[str], list[dict[str, Any]]]


class CorpusMissingError(LoremindError):
    """The documentation the evaluation reads is not installed and could not be installed."""


@dataclass(frozen=True)
class Question:
    """One evaluation question: the pages that answer it and, for detail questions, a needle."""

    ident: str
    text: str
    pages: tuple[str, ...]
    needle: str = ""


def load_questions(path: Path) -> tuple[list[Question], list[str]]:
    """An evaluation file's questions and its corpus globs (relative to /usr/share/doc)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoremindError(f"Cannot read the evaluation file {path}: {exc}.") from exc
    questions = [Question(q["id"], q["question"], tuple(q["pages"]), q.get("needle", ""))
                 for q in data["questions"]]
    corpus_file = path.parent / data.get("corpus", "corpus.txt")
    globs = [line.strip() for line in corpus_file.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return questions, globs


def ensure_corpus(globs: Sequence[str], doc_root: Path = DOC_ROOT,
                  install: bool = True) -> list[Path]:
    """The corpus files, installing the Debian packages first when they are missing."""
    files = _matches(globs, doc_root)
    if files and all(_matches([g], doc_root) for g in globs):
        return files
    if not install or shutil.which("apt-get") is None or os.geteuid() != 0:
        raise CorpusMissingError(
            "The retrieval benchmark reads Debian's documentation packages, which are not "
            f"installed. Install them with: sudo apt-get install {' '.join(DEBIAN_PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", *DEBIAN_PACKAGES]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CorpusMissingError(
                f"Installing {' '.join(DEBIAN_PACKAGES)} failed ({' '.join(command)}): "
                f"{done.stderr.strip()[-400:]}. Install them by hand and run the benchmark again.")
    return _matches(globs, doc_root)


def _matches(globs: Sequence[str], doc_root: Path) -> list[Path]:
    return sorted({p for g in globs for p in doc_root.glob(g) if p.is_file()})


def copy_corpus(files: Sequence[Path], folder: Path, doc_root: Path = DOC_ROOT) -> None:
    """Copy the corpus into ``folder`` (times kept, so a reused home sees nothing changed)."""
    for source in files:
        target = folder / source.relative_to(doc_root)
        if target.exists() and target.stat().st_size == source.stat().st_size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


@contextmanager
def bench_home(home: Path | None, prefix: str = "loremind-retrieval-") -> Iterator[Path]:
    """``home`` when given (kept, so later runs reuse what it holds), else a temporary folder
    named with ``prefix``."""
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        yield home
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def run_retrieval_bench(eval_file: Path = DEFAULT_EVAL, home: Path | None = None,
                        reindex: bool = False, misses: bool = False,
                        doc_root: Path = DOC_ROOT, budgets: bool = False,
                        embedder: str = BUILTIN, reranker: str = "",
                        rerank_budget_ms: float | None = None) -> dict[str, Any]:
    """Index the corpus with ``embedder`` (or reuse ``home``'s index for it), score every
    question five ways (six with ``reranker``: the search without it too), and measure what the
    chat's sources cost (with ``budgets``, under other source budgets too)."""
    from assistant.bench.retrieval_sources import score_sources  # it imports this module

    questions, globs = load_questions(eval_file)
    files = ensure_corpus(globs, doc_root, install=doc_root == DOC_ROOT)
    paths = app_paths().ensure()
    model = bench_embedder(embedder, paths)
    knowledge = KnowledgeSettings(reranker=reranker)
    budget = knowledge.rerank_budget_ms if rerank_budget_ms is None else rerank_budget_ms
    scorer = open_reranker(knowledge, paths)
    try:
        with bench_home(home) as root:
            corpus = root / "corpus"
            copy_corpus(files, corpus, doc_root)
            store = open_database(index_folder(root, embedder), model.dim)
            indexer = Indexer(store, model)
            started = time.perf_counter()
            if reindex:
                indexer.reindex()
            indexer.sync(corpus)
            store.maintain()
            index_s = time.perf_counter() - started
            result: dict[str, Any] = {"embedder": model.name,
                                      "runtime": "sentence-transformers"
                                      if embedder in ("", BUILTIN) else "llama.cpp"}
            if scorer is not None:
                result.update({"reranker": scorer.name, "rerank_budget_ms": budget})
            result.update(score_rankers(store, model, questions, misses, scorer, budget))
            result.update(score_sources(store, model, questions, budgets,
                                        reranker=scorer, rerank_budget_ms=budget))
            result.update({"pages": len(files), "chunks": store.count(CHUNKS.name),
                           "index_s": round(index_s, 1)})
    finally:
        if scorer is not None:
            scorer.close()
    return result


def bench_embedder(choice: str, paths: AppPaths) -> TextEmbedder:
    """The embedder ``choice`` names: :data:`BUILTIN`, :data:`BUILTIN_LLAMA` (converted into the
    cache folder the first time), or a downloaded catalogue embedder or GGUF file, with its
    catalogue name and prefixes."""
    if choice in ("", BUILTIN):
        return open_embedder()
    if choice == BUILTIN_LLAMA:
        return open_embedder(runtime="llama.cpp", cache_dir=paths.cache_dir)
    found = retrieval_file(paths, choice, "embedder")
    return open_embedder(found.path, name=found.name, query_prefix=found.query_prefix,
                         document_prefix=found.document_prefix)


def index_folder(root: Path, choice: str) -> Path:
    """Where the index made with embedder ``choice`` lives: the built-in one's where earlier
    runs put it (``db``), any other's in a folder named after it (vectors of another model, or of
    the same model on another runtime, must not mix)."""
    if choice in ("", BUILTIN):
        return root / "db"
    label = "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(choice).name.lower())
    return root / "embedders" / label / "db"


def rankers(store: Store, embedder: TextEmbedder, reranker: LlamaReranker | None = None,
            rerank_budget_ms: float = RERANK_BUDGET_MS
            ) -> dict[str, Ranker]:
    """The shipped search (reranked by ``reranker`` when given, and then also without it) and
    the two single-signal baselines, each returning rows in rank order: the baselines as chunks,
    and as passages grown the way the search grows its own."""

    def searched(scorer: LlamaReranker | None) -> Ranker:
        return lambda query: [
            {"path": r.path, "text": r.text, "heading": r.heading}
            for r in search_knowledge(store, embedder, query, k=DEPTH, reranker=scorer,
                                      rerank_budget_ms=rerank_budget_ms)]

    def words(query: str, k: int = DEPTH, columns: list[str] = _COLUMNS
              ) -> list[dict[str, Any]]:
        return store.search_text(CHUNKS.name, query, k, columns=columns, boosts=WORD_FIELDS)

    def meaning(query: str, k: int = DEPTH, columns: list[str] = _COLUMNS
                ) -> list[dict[str, Any]]:
        return store.search_vector(CHUNKS.name, embedder.encode_query(query), k,
                                   columns=columns)

    def grown(search: Callable[..., list[dict[str, Any]]]) -> Ranker:
        # As the search does: twice as many chunks as results, since hits next to a better
        # one join its passage.
        return lambda query: as_passages(store, search(query, 2 * DEPTH, _PASSAGE_COLUMNS))

    found: dict[str, Ranker] = {"": searched(reranker)}
    if reranker is not None:
        found["norerank_"] = searched(None)
    return {**found, "fts_": words, "vector_": meaning,
            "fts_passages_": grown(words), "vector_passages_": grown(meaning)}


def as_passages(store: Store, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first ``DEPTH`` passages of ranked chunk ``rows``, through the search's ``passages``."""
    found = []
    for passage in passages(store, rows, DEPTH):
        text, _start, _end = passage.text_and_span()
        found.append({"path": passage.best["path"], "heading": passage.best["heading"],
                      "text": text})
    return found


def score_rankers(store: Store, embedder: TextEmbedder, questions: Sequence[Question],
                  misses: bool = False, reranker: LlamaReranker | None = None,
                  rerank_budget_ms: float = RERANK_BUDGET_MS
                  ) -> dict[str, Any]:
    """r1, r5, mrr, needle5 for each ranker, the shipped search's latency, and with a reranker
    the time its stage took per search (by its own counters) and the pairs it scored."""
    result: dict[str, Any] = {"questions": len(questions),
                              "detail_questions": sum(1 for q in questions if q.needle)}
    search_knowledge(store, embedder, "warm up the caches", k=DEPTH, reranker=reranker,
                     rerank_budget_ms=rerank_budget_ms)
    for prefix, ranker in rankers(store, embedder, reranker, rerank_budget_ms).items():
        times: list[float] = []
        rerank_ms: list[float] = []
        pairs: list[int] = []
        scored = []
        for question in questions:
            before = (reranker.rerank_s, reranker.calls) if reranker is not None else (0.0, 0)
            started = time.perf_counter()
            rows = ranker(question.text)
            times.append((time.perf_counter() - started) * 1000)
            if reranker is not None:
                rerank_ms.append((reranker.rerank_s - before[0]) * 1000)
                pairs.append(reranker.calls - before[1])
            scored.append((question, rows, score_question(question, rows)))
        for key, value in summarise([s for _, _, s in scored]).items():
            result[prefix + key] = value
        if prefix in ("", "norerank_"):
            result[prefix + "query_p50_ms"] = round(statistics.median(times), 2)
            result[prefix + "query_p95_ms"] = _p95(times)
        if not prefix:
            if reranker is not None:
                result["rerank_ms_p50"] = round(statistics.median(rerank_ms), 2)
                result["rerank_ms_p95"] = _p95(rerank_ms)
                result["rerank_pairs_mean"] = round(statistics.fmean(pairs), 2)
            if misses:
                result["misses"] = [_miss(q, rows, s) for q, rows, s in scored
                                    if s["rank"] != 1 or s.get("needle") == 0.0]
    return result


def _p95(values: Sequence[float]) -> float:
    return round(statistics.quantiles(values, n=20)[-1], 2) if len(values) > 1 else \
        round(values[0], 2)


def page_of(path: str) -> str:
    """The page a result belongs to: its file name."""
    return Path(path).name


def score_question(question: Question, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The rank of the first acceptable page (0: not in the top 10) and, for a detail
    question, whether a top-5 chunk of an acceptable page holds the needle."""
    pages: list[str] = []
    for row in rows[:DEPTH]:
        page = page_of(row["path"])
        if page not in pages:
            pages.append(page)
    rank = next((i for i, page in enumerate(pages, start=1) if page in question.pages), 0)
    score: dict[str, Any] = {"rank": rank}
    if question.needle:
        needle = flat(question.needle)
        score["needle"] = float(any(page_of(r["path"]) in question.pages and needle in
                                    flat(r["text"]) for r in rows[:NEEDLE_DEPTH]))
    return score


def flat(text: str) -> str:
    """``text`` with its spacing collapsed and its case ignored, as needles are compared."""
    return " ".join(text.split()).lower()


def summarise(scores: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Mean r1, r5, mrr over all questions and needle5 over the detail questions."""
    ranks = [s["rank"] for s in scores]
    needles = [s["needle"] for s in scores if "needle" in s]
    return {
        "r1": round(sum(r == 1 for r in ranks) / len(ranks), 4),
        "r5": round(sum(0 < r <= 5 for r in ranks) / len(ranks), 4),
        "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 4),
        "needle5": round(sum(needles) / len(needles), 4) if needles else 0.0,
    }


def _miss(question: Question, rows: Sequence[dict[str, Any]],
          score: dict[str, Any]) -> dict[str, Any]:
    return {"id": question.ident, "question": question.text, "want": list(question.pages),
            "rank": score["rank"], "needle": score.get("needle"),
            "got": [f"{page_of(r['path'])} | {r['heading']}" for r in rows[:5]]}


def check_questions(questions: Sequence[Question], files: Sequence[Path]) -> list[str]:
    """Problems with an evaluation set: a page not in the corpus, or a needle that is not in
    the parsed text of its page (so it could never be found, whatever the search does)."""
    from assistant.knowledge.parsers import ParsedDocument, parser_for

    by_name = {path.name: path for path in files}
    texts: dict[str, str] = {}
    problems = []
    for question in questions:
        missing = [page for page in question.pages if page not in by_name]
        if missing:
            problems.append(f"{question.ident}: {', '.join(missing)} not in the corpus")
            continue
        if not question.needle:
            continue
        found = False
        for page in question.pages:
            if page not in texts:
                parser = parser_for(by_name[page].suffix.lower())
                doc = parser(by_name[page].read_bytes()) if parser else None
                texts[page] = (flat(" ".join(s.text for s in doc.sections))
                               if isinstance(doc, ParsedDocument) else "")
            found = found or flat(question.needle) in texts[page]
        if not found:
            problems.append(f"{question.ident}: needle {question.needle!r} not in the page text")
    return problems
