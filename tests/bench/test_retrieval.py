"""The retrieval evaluation itself: a sound question set, and a benchmark that runs end to end."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from assistant.bench.retrieval import (
    DEFAULT_EVAL,
    DOC_ROOT,
    CorpusMissingError,
    check_questions,
    ensure_corpus,
    load_questions,
    rankers,
    run_retrieval_bench,
)
from assistant.knowledge.indexer import Indexer

REPORTED = {"r1", "r5", "mrr", "needle5", "query_p50_ms", "query_p95_ms", "chunks"}
BASELINES = ("fts_", "vector_", "fts_passages_", "vector_passages_")
SOURCE_FIGURES = {"source_tokens_p50", "source_tokens_p95", "source_tokens_mean",
                  "sources_mean", "needle_in_prompt", "source_r1"}


def test_the_committed_evaluation_is_large_and_well_formed():
    questions, globs = load_questions(DEFAULT_EVAL)
    kinds = Counter("detail" if q.needle else "page" for q in questions)
    assert kinds["page"] >= 60 and kinds["detail"] >= 60
    assert len({q.ident for q in questions}) == len(questions)
    assert len({q.text for q in questions}) == len(questions)
    assert all(q.pages and all(p.endswith(".html") for p in q.pages) for q in questions)
    assert globs and all(g.split("/")[0] in ("postgresql-doc-15", "git-doc") for g in globs)


@pytest.mark.skipif(not (DOC_ROOT / "postgresql-doc-15").is_dir(),
                    reason="the Debian documentation packages are not installed")
def test_every_needle_is_in_the_parsed_text_of_its_page():
    questions, globs = load_questions(DEFAULT_EVAL)
    assert check_questions(questions, ensure_corpus(globs, install=False)) == []


def test_a_missing_corpus_says_how_to_install_it(tmp_path):
    with pytest.raises(CorpusMissingError, match="apt-get install postgresql-doc-15 git-doc"):
        ensure_corpus(["postgresql-doc-15/html/*.html"], tmp_path, install=False)


@pytest.mark.slow
def test_the_benchmark_indexes_scores_and_reuses_its_home(tmp_path):
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
    (evaluation.parent / "corpus.txt").write_text("# test corpus\npkg/*.html\n")
    evaluation.write_text(json.dumps({"corpus": "corpus.txt", "questions": [
        {"id": "p1", "question": "how long should I let my green tea infuse",
         "pages": ["tea.html"]},
        {"id": "d1", "question": "how often to lubricate the bike chain", "pages": ["bike.html"],
         "needle": "every 300 km"},
    ]}))
    home = tmp_path / "home"
    first = run_retrieval_bench(evaluation, home, doc_root=root)
    assert REPORTED <= first.keys()
    assert {f"{p}{m}" for p in BASELINES for m in ("r1", "r5", "mrr", "needle5")} \
        <= first.keys()
    assert (first["r1"], first["needle5"], first["chunks"], first["pages"]) == (1.0, 1.0, 2, 2)
    # What the sources cost: at the speed measured here, before any budget, before any speed
    # is measured, at 60 tokens/s.
    assert first["prompt_tps"] > 0 and first["source_budget"] > 0
    for prefix in ("", "unbudgeted_", "first_answer_", "at_60tps_"):
        assert {prefix + key for key in SOURCE_FIGURES} <= first.keys()
        assert first[prefix + "needle_in_prompt"] == 1.0  # the chain's interval is read
        assert 0 < first[prefix + "source_tokens_p50"] <= first[prefix + "source_tokens_p95"]
    assert first["source_tokens_p50"] <= first["unbudgeted_source_tokens_p50"]
    assert "budgets" not in first
    again = run_retrieval_bench(evaluation, home, doc_root=root, misses=True, budgets=True)
    assert again["chunks"] == 2 and again["misses"] == []
    table = {row["setting"]: row for row in again["budgets"]}
    assert {"k=2", "k=6", "k=4, words=160", "k=4, tokens=300"} <= table.keys()
    assert all(SOURCE_FIGURES <= row.keys() for row in table.values())
    assert table["k=4, tokens=300"]["source_tokens_p50"] \
        <= table["k=4, tokens=1200"]["source_tokens_p50"]


CHAIN = ("<html><head><title>Bicycle</title></head><body><h1>Bicycle</h1><h2>Lubrication</h2>"
         + "".join(f"<p>Step {n}: wipe the links of the chain with a rag and look at them "
                   f"closely for rust before going on to the next part of the work.</p>"
                   for n in range(1, 13))
         + "<p>Finally, spin the pedals backwards to spread the oil.</p></body></html>")


@pytest.mark.slow
def test_the_baselines_search_headings_and_grow_passages_as_the_search_does(store, embedder,
                                                                            tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bike.html").write_text(CHAIN)
    (docs / "tea.html").write_text(
        "<html><head><title>Tea</title></head><body><h1>Tea</h1><h2>Brewing</h2><p>Steep "
        "green tea for two minutes at 80 degrees.</p></body></html>")
    Indexer(store, embedder).sync(docs)
    ranked = rankers(store, embedder)
    # "Lubrication" is in the chain section's heading only: the word leg's fields find it.
    for name in ("fts_", "fts_passages_"):
        assert ranked[name]("lubrication")[0]["path"].endswith("bike.html"), name
    # Passages are the matched chunk (the section's short last one: the page is three chunks)
    # grown with its section neighbours, as the search cites.
    question = "spin the pedals backwards to spread the oil"
    for leg in ("fts_", "vector_"):
        chunk = ranked[leg](question)[0]
        passage = ranked[leg + "passages_"](question)[0]
        assert chunk["text"].strip() in passage["text"]
        assert len(passage["text"]) > len(chunk["text"])
