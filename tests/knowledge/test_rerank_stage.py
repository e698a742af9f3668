"""The search's rerank stage on a tiny generated cross-encoder and the real all-MiniLM-L6-v2:
the best-ranked candidates are scored first, the scored go first by score, the budget stops the
scoring, and without a reranker nothing of it runs. Plumbing only: the tiny reranker is random,
so whether its order is better says nothing; a real reranker's quality needs a download."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from assistant.bench.synthetic_retrieval import write_tiny_reranker
from assistant.knowledge import search_knowledge
from assistant.knowledge.reranker import RERANK_BATCH, LlamaReranker, relevance, rerank

TOPICS = {
    "backup.md": "# Backups\n\n## Restoring\n\nRestore a database backup with pg_restore on "
                 "another server; create the empty database first.\n\n## Dumping\n\nRun "
                 "pg_dump every night and keep a week of dumps on another disk.",
    "tea.md": "# Tea\n\nSteep green tea for two minutes at 80 degrees; black tea takes four.",
    "bike.md": "# Bicycle\n\n## Chain\n\nOil the chain every 300 km and wipe off the excess.\n\n"
               "## Tyres\n\nPump road tyres to six bar once a week.",
    "garden.md": "# Garden\n\nWater tomatoes deeply twice a week and feed them potash.",
    "cat.md": "# Cat\n\nThe cat sat on the mat. A cat sleeps most of the day.",
    "paris.md": "# Paris\n\nParis is the capital of France, on the Seine.",
}
QUESTIONS = ["how do I restore a database backup", "what is the capital of france",
             "how often should the chain be oiled", "how long to steep green tea"]


@pytest.fixture(scope="module")
def reranker(tmp_path_factory):
    model = LlamaReranker(write_tiny_reranker(tmp_path_factory.mktemp("rr") / "rr.gguf"))
    model.measure_speed()
    yield model
    model.close()


@pytest.fixture
def indexed(indexer, store, docs):
    for name, text in TOPICS.items():
        (docs / name).write_text(text)
    indexer.sync(docs)
    return store


def test_the_stage_scores_best_first_and_the_budget_stops_it(reranker):
    texts = [f"{word} database backup restore {n}" for n, word in
             enumerate(["the", "a", "what", "how", "cat", "dog"] * 500)]
    assert reranker.seconds_for(150) is not None  # measured once, before any search
    everything = rerank(reranker, "restore a backup", texts[:7], budget_ms=60_000)
    assert everything == pytest.approx(reranker.score("restore a backup", texts[:7]), rel=2e-3)
    assert rerank(reranker, "restore a backup", texts, budget_ms=0) == [None] * len(texts)
    stages, calls = reranker.reranks, reranker.calls
    partial = rerank(reranker, "restore a backup", texts, budget_ms=50)
    scored = [s for s in partial if s is not None]
    # The first candidates, in order, and not all 3,000 in 50 ms.
    assert 0 < len(scored) < len(texts) and partial[:len(scored)] == scored
    assert reranker.calls - calls == len(scored) and reranker.reranks == stages + 1


def test_before_any_measurement_one_pair_is_scored_to_measure(tmp_path):
    fresh = LlamaReranker(write_tiny_reranker(tmp_path / "fresh.gguf"))
    try:
        assert fresh.seconds_for(150) is None
        scores = rerank(fresh, "tea", ["green tea", "black tea", "a cat"], budget_ms=60_000)
        assert all(s is not None for s in scores) and fresh.seconds_for(150) is not None
        assert RERANK_BATCH >= 2  # after the first pair, pairs go several per decode
    finally:
        fresh.close()


def test_scores_are_log_odds_whatever_the_head():
    assert relevance(np.array([-1.5], dtype=np.float32)) == pytest.approx(-1.5)
    # Qwen3-Reranker's yes/no head: probabilities after llama.cpp's softmax, else logits.
    assert relevance(np.array([0.8, 0.2], dtype=np.float32)) == pytest.approx(math.log(4), 1e-5)
    assert relevance(np.array([2.0, 1.0], dtype=np.float32)) == pytest.approx(1.0)
    assert relevance(np.array([0.1, 0.9], dtype=np.float32)) < 0


def test_the_search_orders_its_passages_by_the_rerankers_scores(indexed, embedder, reranker):
    changed = 0
    for question in QUESTIONS:
        fused = search_knowledge(indexed, embedder, question, k=4)
        reranked = search_knowledge(indexed, embedder, question, k=4, reranker=reranker,
                                    rerank_budget_ms=60_000)
        assert all(r.rerank_score is None for r in fused)
        scores = [r.rerank_score for r in reranked]
        assert None not in scores and scores == sorted(scores, reverse=True)
        changed += [r.path for r in fused] != [r.path for r in reranked]
    assert changed  # a random reranker disagrees with the fusion somewhere


def test_an_empty_budget_keeps_the_fused_order(indexed, embedder, reranker):
    for question in QUESTIONS:
        fused = search_knowledge(indexed, embedder, question, k=3)
        unscored = search_knowledge(indexed, embedder, question, k=3, reranker=reranker,
                                    rerank_budget_ms=0)
        assert all(r.rerank_score is None for r in unscored)
        assert [(r.path, r.heading) for r in unscored] == [(r.path, r.heading) for r in fused]


def test_without_a_reranker_nothing_of_it_is_loaded_or_imported():
    code = ("import sys\n"
            "from assistant.config import KnowledgeSettings\n"
            "from assistant.paths import app_paths\n"
            "import assistant.knowledge.search, assistant.chat.sources\n"
            "from assistant.models.retrieval_files import open_reranker\n"
            "assert open_reranker(KnowledgeSettings(), app_paths()) is None\n"
            "print('assistant.knowledge.reranker' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
