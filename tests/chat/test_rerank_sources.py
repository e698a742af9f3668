"""With a reranker, a source is a passage the reranker scores as answering (log-odds ≥ 0); a
passage the budget left unscored keeps the cosine floor. Plumbing only, on tiny generated
cross-encoders whose random heads lean one way: one scores every pair as relevant, the other
none. Whether a real reranker's line is in the right place can only be measured once one is
downloaded (none is, here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.bench.synthetic_retrieval import write_tiny_reranker
from assistant.chat.answering import AskOptions
from assistant.chat.events import Done, Notice, Sources
from assistant.chat.sources import (
    MIN_RERANK_SCORE,
    MIN_SOURCE_SIMILARITY,
    about_question,
    choose_sources,
)
from assistant.config import Settings
from assistant.core import Loremind
from assistant.engine import SamplingParams
from assistant.knowledge.indexer import Indexer
from assistant.knowledge.reranker import LlamaReranker
from assistant.knowledge.search import SearchResult, search_knowledge
from assistant.paths import app_paths

# Seeds of write_tiny_reranker whose random head scores every pair above 0 (about +1.9) and
# below it (about -1.2): the line's two sides, whatever the texts.
YES_SEED, NO_SEED = 19, 1
EVERYTHING = 60_000.0  # a budget that scores every candidate
DOCS = {
    "espresso.md": "# Espresso machine\n\n## Descaling\n\nDescale the espresso machine every "
                   "two months with hard water: run the descaling agent through the group "
                   "head.\n\n## Rinsing\n\nAfter descaling, rinse twice with clean water.\n",
    "boiler.md": "# Boiler manual\n\n## Fault codes\n\nE27: the flame went out; open the gas "
                 "valve and press reset.\n\n## Water pressure\n\nTop up the water until the "
                 "gauge shows 1.5 bar.\n",
}
SPECIFIC = "How do I descale my espresso machine?"
GENERAL = "What is the capital of France?"


def _result(similarity: float, rerank: float | None) -> SearchResult:
    return SearchResult("/d.md", None, "H", 0.1, "text", "text", 0, 4, similarity, rerank)


def test_a_scored_passage_is_judged_by_its_score_an_unscored_one_by_its_cosine():
    high, low = MIN_SOURCE_SIMILARITY + 0.2, MIN_SOURCE_SIMILARITY - 0.2
    assert about_question(_result(low, MIN_RERANK_SCORE + 0.5))
    assert not about_question(_result(high, MIN_RERANK_SCORE - 0.5))
    assert about_question(_result(high, None)) and not about_question(_result(low, None))


@pytest.fixture(scope="module")
def leaning(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaning")
    models = {name: LlamaReranker(write_tiny_reranker(folder / f"{name}.gguf", seed=seed))
              for name, seed in (("yes", YES_SEED), ("no", NO_SEED))}
    yield models
    for model in models.values():
        model.close()


@pytest.fixture
def indexed(store, embedder, tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    Indexer(store, embedder).sync(folder)
    return store


@pytest.mark.slow
def test_the_rerankers_line_replaces_the_cosine_floor_for_what_it_scored(indexed, embedder,
                                                                        embedded_model,
                                                                        leaning):
    def sources(question: str, reranker: LlamaReranker | None = None,
                budget: float = EVERYTHING) -> list[str]:
        return [f"{c.path}|{c.heading}" for c in choose_sources(
            indexed, embedder, embedded_model, question, 4, reranker=reranker,
            rerank_budget_ms=budget)]

    searched = search_knowledge(indexed, embedder, GENERAL, 4, reranker=leaning["yes"],
                                rerank_budget_ms=EVERYTHING)
    assert all(r.rerank_score is not None and r.rerank_score > MIN_RERANK_SCORE
               for r in searched)
    assert all(r.rerank_score is not None and r.rerank_score < MIN_RERANK_SCORE
               for r in search_knowledge(indexed, embedder, GENERAL, 4,
                                         reranker=leaning["no"], rerank_budget_ms=EVERYTHING))
    # The cosine keeps the general question off the manuals, and cites them for the specific.
    assert sources(GENERAL) == [] and sources(SPECIFIC) != []
    # A reranker that calls everything relevant cites every passage; one that calls nothing
    # relevant cites none, whatever the cosine says.
    assert sources(GENERAL, leaning["yes"]) == [f"{r.path}|{r.heading}" for r in searched]
    assert sources(SPECIFIC, leaning["no"]) == []
    # With no time to score, the cosine floor decides as before.
    assert sources(SPECIFIC, leaning["no"], budget=0) == sources(SPECIFIC)


def _core_with_reranker(indexed, embedder, embedded_model, reranker: str) -> Loremind:
    embedded_model.drop_cache()
    settings = Settings()
    settings.knowledge.rerank_budget_ms = int(EVERYTHING)
    settings.knowledge.reranker = reranker
    core = Loremind(app_paths(), settings, model=embedded_model, embedder=embedder,
                    store=indexed)
    core.chat.answerer.prompt_speed.observe(embedded_model.model_id, 10 ** 6, 1.0)  # room
    return core


def _ask(core: Loremind, question: str) -> list:
    return list(core.chat.answerer.ask(core.chat.new_session(), question,
                                       AskOptions(sampling=SamplingParams.greedy(4))))


@pytest.mark.slow
def test_the_chat_reranks_with_the_reranker_the_settings_name(indexed, embedder,
                                                              embedded_model, tmp_path):
    path = write_tiny_reranker(tmp_path / "yes.gguf", seed=YES_SEED)
    core = _core_with_reranker(indexed, embedder, embedded_model, str(path))
    events = _ask(core, GENERAL)
    cited = next(e for e in events if isinstance(e, Sources)).citations
    reranker = core.parts.reranker
    assert reranker is not None
    assert cited and cited == choose_sources(indexed, embedder, embedded_model, GENERAL, 4,
                                             reranker=reranker, rerank_budget_ms=EVERYTHING)
    assert isinstance(events[-1], Done)


@pytest.mark.slow
def test_a_reranker_file_gone_leaves_the_answer_unreranked_and_says_so(indexed, embedder,
                                                                      embedded_model,
                                                                      tmp_path):
    path = write_tiny_reranker(tmp_path / "gone.gguf", seed=YES_SEED)
    core = _core_with_reranker(indexed, embedder, embedded_model, str(path))
    path.unlink()
    events = _ask(core, SPECIFIC)
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any("not reranked" in n and "gone.gguf" in n for n in notices), notices
    cited = next(e for e in events if isinstance(e, Sources)).citations
    assert cited == choose_sources(indexed, embedder, embedded_model, SPECIFIC, 4)
    assert isinstance(events[-1], Done)
