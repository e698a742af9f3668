"""``loremind bench retrieval`` with other retrieval models: any GGUF embedder into an index of its
own, a reranker measured against the same search without it, and the shipped all-MiniLM-L6-v2
giving the same figures on llama.cpp (converted) as on sentence-transformers.

The rerankers here are tiny random ones: the figures prove the plumbing (keys, budget, order),
not a reranker's quality, which needs a real one downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.bench.retrieval import (
    BUILTIN,
    BUILTIN_LLAMA,
    DEFAULT_EVAL,
    DOC_ROOT,
    index_folder,
    run_retrieval_bench,
)
from assistant.bench.synthetic_retrieval import write_tiny_embedder, write_tiny_reranker
from assistant.cli import main
from assistant.knowledge.convert import converter_missing

pytestmark = pytest.mark.slow  # each run indexes, searches and loads the embedded chat model
FIGURES = ("r1", "r5", "mrr", "needle5")
RERANK_KEYS = {"reranker", "rerank_budget_ms", "rerank_ms_p50", "rerank_ms_p95",
               "rerank_pairs_mean", "norerank_query_p50_ms",
               *(f"norerank_{f}" for f in FIGURES)}
# Real pages of Debian's documentation, with every committed question they alone answer.
PAGES = {"git-doc": ["git-clean.html", "git-reset.html", "git-stash.html", "git-revert.html",
                     "git-reflog.html"],
         "postgresql-doc-15/html": ["backup-dump.html", "sql-explain.html",
                                    "sql-refreshmaterializedview.html"]}
needs_docs = pytest.mark.skipif(not (DOC_ROOT / "postgresql-doc-15").is_dir(),
                                reason="the Debian documentation packages are not installed")


def real_evaluation(folder: Path, pages: dict[str, list[str]] = PAGES) -> Path:
    """An evaluation file over ``pages`` and the committed questions they answer."""
    names = {page for group in pages.values() for page in group}
    questions = [q for q in json.loads(DEFAULT_EVAL.read_text())["questions"]
                 if set(q["pages"]) <= names]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.txt").write_text("".join(f"{where}/{page}\n"
                                               for where, group in pages.items()
                                               for page in group))
    evaluation = folder / "questions.json"
    evaluation.write_text(json.dumps({"corpus": "corpus.txt", "questions": questions}))
    return evaluation


@pytest.fixture
def tiny_corpus(tmp_path):
    root = tmp_path / "doc"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "tea.html").write_text(
        "<html><head><title>Tea</title></head><body><h1>Tea</h1><h2>Brewing</h2><p>Steep "
        "green tea for two minutes at 80 degrees.</p></body></html>")
    (root / "pkg" / "bike.html").write_text(
        "<html><head><title>Bicycle</title></head><body><h1>Bicycle</h1><h2>Chain</h2><p>Oil "
        "the chain every 300 km and wipe off the excess.</p></body></html>")
    evaluation = tmp_path / "eval" / "questions.json"
    evaluation.parent.mkdir()
    (evaluation.parent / "corpus.txt").write_text("pkg/*.html\n")
    evaluation.write_text(json.dumps({"corpus": "corpus.txt", "questions": [
        {"id": "p1", "question": "how long should I let my green tea infuse",
         "pages": ["tea.html"]},
        {"id": "d1", "question": "how often to lubricate the bike chain", "pages": ["bike.html"],
         "needle": "every 300 km"},
    ]}))
    return root, evaluation


def test_a_gguf_embedder_gets_its_own_index_and_a_reranker_its_baseline(tiny_corpus, tmp_path):
    root, evaluation = tiny_corpus
    (tmp_path / "models").mkdir()
    embedder = write_tiny_embedder(tmp_path / "models" / "My Embedder.gguf")
    reranker = write_tiny_reranker(tmp_path / "models" / "tiny-rr.gguf")
    home = tmp_path / "home"
    everything = run_retrieval_bench(evaluation, home, doc_root=root, embedder=str(embedder),
                                     reranker=str(reranker), rerank_budget_ms=60_000)
    assert RERANK_KEYS <= everything.keys()
    assert (everything["embedder"], everything["runtime"]) == ("My Embedder", "llama.cpp")
    assert everything["reranker"] == "tiny-rr" and everything["chunks"] == 2
    # Both chunks of the corpus are candidates of every search, and all are scored.
    assert everything["rerank_pairs_mean"] == 2 and everything["rerank_ms_p50"] > 0
    assert index_folder(home, str(embedder)) == home / "embedders" / "my-embedder.gguf" / "db"
    assert index_folder(home, str(embedder)).is_dir() and not (home / "db").exists()
    # No time to score: nothing is, and the search is the one without a reranker.
    nothing = run_retrieval_bench(evaluation, home, doc_root=root, embedder=str(embedder),
                                  reranker=str(reranker), rerank_budget_ms=0)
    assert nothing["rerank_pairs_mean"] == 0
    assert [nothing[f] for f in FIGURES] == [nothing[f"norerank_{f}"] for f in FIGURES]
    # The built-in embedder's index stays where earlier runs put it, beside the other.
    builtin = run_retrieval_bench(evaluation, home, doc_root=root)
    assert (builtin["runtime"], builtin["chunks"]) == ("sentence-transformers", 2)
    assert index_folder(home, BUILTIN) == home / "db" and (home / "db").is_dir()
    assert not RERANK_KEYS & builtin.keys()


@needs_docs
def test_the_command_takes_an_embedder_and_a_reranker(tmp_path):
    evaluation = real_evaluation(tmp_path / "eval",
                                 {"postgresql-doc-15/html": ["sql-refreshmaterializedview.html"]})
    embedder = write_tiny_embedder(tmp_path / "e.gguf")
    reranker = write_tiny_reranker(tmp_path / "r.gguf")
    home = tmp_path / "home"
    done = CliRunner().invoke(main, [
        "bench", "retrieval", "--eval", str(evaluation), "--home", str(home), "--embedder",
        str(embedder), "--reranker", str(reranker), "--rerank-budget-ms", "5000", "--json"],
        catch_exceptions=False)
    assert done.exit_code == 0, done.output
    result = json.loads(done.output.strip().splitlines()[-1])
    assert RERANK_KEYS <= result.keys() and result["questions"] >= 1
    assert result["rerank_pairs_mean"] > 0 and result["rerank_budget_ms"] == 5000
    assert (home / "embedders" / "e.gguf" / "db").is_dir()


@needs_docs
def test_minilm_on_llama_cpp_scores_as_on_sentence_transformers(tmp_path):
    missing = converter_missing()
    if missing:
        pytest.skip(missing)
    evaluation = real_evaluation(tmp_path / "eval")
    home = tmp_path / "home"
    torch = run_retrieval_bench(evaluation, home, embedder=BUILTIN)
    llama = run_retrieval_bench(evaluation, home, embedder=BUILTIN_LLAMA)
    assert (torch["runtime"], llama["runtime"]) == ("sentence-transformers", "llama.cpp")
    assert torch["questions"] == llama["questions"] >= 12
    assert torch["chunks"] == llama["chunks"] > 100  # the same chunks, cut by the same counts
    for figure in FIGURES:
        for prefix in ("", "vector_", "vector_passages_"):
            key = prefix + figure
            assert abs(torch[key] - llama[key]) <= 0.01, (key, torch[key], llama[key])
