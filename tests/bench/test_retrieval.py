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
    run_retrieval_bench,
)

REPORTED = {"r1", "r5", "mrr", "needle5", "query_p50_ms", "query_p95_ms", "chunks"}


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
    assert {f"{p}{m}" for p in ("fts_", "vector_") for m in ("r1", "r5", "mrr", "needle5")} \
        <= first.keys()
    assert (first["r1"], first["needle5"], first["chunks"], first["pages"]) == (1.0, 1.0, 2, 2)
    again = run_retrieval_bench(evaluation, home, doc_root=root, misses=True)
    assert again["chunks"] == 2 and again["misses"] == []
