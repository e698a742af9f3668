"""An answer's sources fit what the model reads in a few seconds at its measured prompt speed,
and the chat and the retrieval benchmark choose them through the same function."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.chat.answering import Answerer, AskOptions
from assistant.chat.events import Citation, Done, Sources
from assistant.chat.sources import (
    DEFAULT_PROMPT_SPEED,
    MIN_MEASURED_TOKENS,
    PromptSpeed,
    choose_sources,
    fit_sources,
    source_tokens,
)
from assistant.config import KnowledgeSettings, Settings
from assistant.core import Loremind
from assistant.engine import LocalModel, SamplingParams
from assistant.knowledge.indexer import Indexer
from assistant.paths import app_paths

SOURCE_SECONDS = KnowledgeSettings().source_seconds  # the chat's default
DEFAULT_BUDGET = int(DEFAULT_PROMPT_SPEED * SOURCE_SECONDS)


def test_the_budget_is_the_measured_prompt_speed_times_the_seconds():
    speed = PromptSpeed()
    assert speed.budget("model", SOURCE_SECONDS) == DEFAULT_BUDGET  # nothing measured yet
    speed.observe("model", 1000, 2.0)  # 500 tokens/s: the first measurement replaces the default
    assert speed.budget("model", SOURCE_SECONDS) == int(500 * SOURCE_SECONDS)
    speed.observe("model", 1000, 10.0)  # 100 tokens/s: the estimate moves toward it
    assert (int(100 * SOURCE_SECONDS) < speed.budget("model", SOURCE_SECONDS)
            < int(500 * SOURCE_SECONDS))
    assert speed.budget("model", seconds=1.0) < speed.budget("model", SOURCE_SECONDS)


def test_a_cached_prompt_or_another_model_leaves_the_estimate_alone():
    speed = PromptSpeed()
    # A follow-up whose prompt was nearly all cached times the start, not the reading.
    speed.observe("model", MIN_MEASURED_TOKENS - 1, 0.001)
    assert speed.measured == 0 and speed.budget("model", SOURCE_SECONDS) == DEFAULT_BUDGET
    speed.observe("model", 1000, 2.0)
    assert speed.budget("other", SOURCE_SECONDS) == DEFAULT_BUDGET  # measured on another model
    speed.observe("other", 300, 3.0)
    assert speed.budget("other", SOURCE_SECONDS) == int(100 * SOURCE_SECONDS)
    assert speed.budget("model", SOURCE_SECONDS) == DEFAULT_BUDGET  # that model is measured afresh


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from assistant.bench.synthetic import write_tiny_model

    path = write_tiny_model(tmp_path_factory.mktemp("budget") / "tiny-1k.gguf", context=1024)
    model = LocalModel.load(path, context_size=1024)
    yield model
    model.close()


def _citation(n: int, text: str) -> Citation:
    return Citation(n, f"/notes/doc{n}.md", 0, "Intro", text, 0.5)


SOURCES = [_citation(1, "The pump is in the cellar. " * 4),
           _citation(2, "Bleed the radiators in autumn. " * 4),
           _citation(3, "First sentence of three. Second one here. Third and last one.")]


def test_sources_are_kept_best_first_and_the_last_is_cut_at_a_sentence(tiny):
    question = "Where is the pump?"
    two = source_tokens(tiny, SOURCES[:2], question)
    assert fit_sources(tiny, SOURCES, question, None) == SOURCES
    assert fit_sources(tiny, SOURCES, question, 10 ** 6) == SOURCES
    # The third does not fit whole: it is cut after the sentences that do, and marked so.
    two_sentences = replace(SOURCES[2], text="First sentence of three. Second one here. …")
    budget = source_tokens(tiny, [*SOURCES[:2], two_sentences], question)
    assert source_tokens(tiny, SOURCES, question) > budget
    assert fit_sources(tiny, SOURCES, question, budget) == [*SOURCES[:2], two_sentences]
    assert fit_sources(tiny, SOURCES, question, budget - 1)[2].text == \
        "First sentence of three. …"
    # When not even its first sentence fits, it is left out.
    assert fit_sources(tiny, SOURCES, question, two + 2) == SOURCES[:2]


def test_the_best_source_is_kept_whatever_the_budget(tiny):
    assert fit_sources(tiny, SOURCES, "Where is the pump?", 1) == SOURCES[:1]
    assert fit_sources(tiny, [], "Where is the pump?", 1) == []


MANUAL = """# Espresso machine manual

## Descaling
Descale the espresso machine every two months with hard water: dissolve the descaling agent in
one litre of water and run it through the group head and the steam wand.

## Descaling alarm
When the descale light blinks, the espresso machine needs descaling within a week; the light
stops after a full descaling cycle has been run.

## Rinsing after descaling
After descaling, rinse the espresso machine twice with clean water so that no descaling agent
is left in the boiler.
"""


@pytest.mark.slow
def test_the_chat_chooses_its_sources_through_the_shared_function(embedded_model, embedder,
                                                                  store, tmp_path: Path):
    embedded_model.drop_cache()
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "espresso.md").write_text(MANUAL)
    Indexer(store, embedder).sync(folder)
    core = Loremind(app_paths(), Settings(), model=embedded_model, embedder=embedder,
                    store=store)
    answerer = Answerer(core.parts)
    question = "How do I descale my espresso machine?"
    model_id = embedded_model.model_id

    def sources() -> tuple[list[Citation], Done]:
        events = list(answerer.ask(core.chat.new_session(), question,
                                   AskOptions(sampling=SamplingParams.greedy(4))))
        chosen = next(e for e in events if isinstance(e, Sources)).citations
        return chosen, next(e for e in events if isinstance(e, Done))

    every = choose_sources(store, embedder, embedded_model, question, 4)
    assert len(every) >= 2, "the question needs more than one source for this test"
    # A model measured to read 15 tokens a second gets the best passage only.
    answerer.prompt_speed.observe(model_id, 1500, 100.0)
    chosen, done = sources()
    assert chosen == every[:1]
    # The answer was measured: its prompt speed (evaluated tokens before the first token).
    assert done.stats.evaluated_tokens >= MIN_MEASURED_TOKENS
    assert answerer.prompt_speed.measured == 2
    # A fast model gets every relevant passage, as choose_sources gives them for its budget.
    answerer.prompt_speed.observe(model_id, 10 ** 6, 1.0)
    chosen, _done = sources()
    budget = answerer.prompt_speed.budget(model_id, SOURCE_SECONDS)
    assert chosen == every == choose_sources(store, embedder, embedded_model, question, 4,
                                             budget=budget)
