"""What the chat's sources cost: the tokens they add to the prompt, and whether the answer's
words are among them.

For every question of the retrieval benchmark, the chat's own selection runs on the benchmark's
index: :func:`~assistant.chat.sources.choose_sources` (the search's ``knowledge_k`` passages,
those above the similarity floor, as many as the token budget holds), then what
:func:`~assistant.chat.prompt.plan_prompt` keeps of them in a new chat with the default system
prompt. The sources' tokens are counted by the embedded SmolLM2's own tokenizer and chat template
(``LocalModel.count_tokens``), and a detail question's needle must be in the text of a source
the model reads. The chat sizes its budget by the prompt speed it measures on every answer; the
figures are given at the speed the embedded model reads here (measured on the benchmark's own
prompts, by llama.cpp's counters), for a first answer (the speed assumed before any is
measured) and at a stated speed for a 3B model on a laptop's CPU, with the selection before the
budget (the search's four passages, all read) beside them.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.bench.retrieval import Question, flat, page_of
from assistant.chat.answering import AskOptions
from assistant.chat.prompt import PromptPlan, plan_prompt
from assistant.chat.sources import PromptSpeed, choose_sources, source_tokens
from assistant.config import KnowledgeSettings, Settings
from assistant.engine.model import LocalModel, SamplingParams
from assistant.knowledge.embedding import TextEmbedder
from assistant.knowledge.reranker import LlamaReranker
from assistant.store import Store

# A 3B model (Q4) reads about this many prompt tokens a second on a laptop's CPU: stated (issue
# 23), not measured here; the embedded model's speed is measured in the run.
STATED_SPEED = 60.0
SPEED_PROMPTS = 4  # prompts the embedded model reads to measure its speed here
K_CHOICES = (2, 3, 4, 5, 6)
WORD_CHOICES = (160, 240, 320)
TOKEN_CHOICES = (300, 500, 800, 1200, 1600)


@dataclass(frozen=True)
class SourceSetting:
    """One way to choose sources: how many passages, of how many words, within what budget."""

    label: str
    k: int
    budget: int | None = None  # tokens; None: all k passages
    words: int | None = None  # a passage's most words; None: the search's own


class SourceBench:
    """The chat's source selection, run over the benchmark's questions with the embedded model."""

    def __init__(self, store: Store, embedder: TextEmbedder, model: LocalModel,
                 questions: Sequence[Question], reranker: LlamaReranker | None = None,
                 rerank_budget_ms: float | None = None) -> None:
        self.store, self.embedder, self.model = store, embedder, model
        self.reranker, self.rerank_budget_ms = reranker, rerank_budget_ms
        self.questions = list(questions)
        settings = Settings()
        self.system_prompt = settings.generation.system_prompt
        self.reserve = min(settings.generation.max_tokens, 1024)  # as the chat reserves
        self.k = AskOptions().knowledge_k

    def plan(self, question: Question, setting: SourceSetting) -> PromptPlan:
        """The new chat's prompt for ``question``, its sources chosen as the chat chooses."""
        citations = choose_sources(self.store, self.embedder, self.model, question.text,
                                   setting.k, budget=setting.budget, section_words=setting.words,
                                   reranker=self.reranker,
                                   rerank_budget_ms=self.rerank_budget_ms)
        return plan_prompt(self.model, self.system_prompt, [], citations, [], question.text,
                           reserve=self.reserve)

    def score(self, setting: SourceSetting) -> dict[str, float]:
        """Source tokens per question (p50, p95, mean), sources per question, the detail
        questions whose needle the model reads, and the questions whose first source is on a
        right page."""
        tokens, counts, needles, firsts = [], [], [], []
        for question in self.questions:
            kept = self.plan(question, setting).citations
            tokens.append(source_tokens(self.model, kept, question.text))
            counts.append(len(kept))
            firsts.append(bool(kept) and page_of(kept[0].path) in question.pages)
            if question.needle:
                needle = flat(question.needle)
                needles.append(any(needle in flat(c.text) for c in kept))
        return {
            "source_tokens_p50": statistics.median(tokens),
            "source_tokens_p95": _p95(tokens),
            "source_tokens_mean": round(statistics.fmean(tokens), 1),
            "sources_mean": round(statistics.fmean(counts), 2),
            "needle_in_prompt": round(sum(needles) / len(needles), 4) if needles else 0.0,
            "source_r1": round(sum(firsts) / len(firsts), 4),
        }

    def measure_speed(self, prompts: int = SPEED_PROMPTS) -> PromptSpeed:
        """The chat's running estimate after the model read the first ``prompts`` questions'
        prompts (all sources, nothing cached), by llama.cpp's counters."""
        speed = PromptSpeed()
        every = SourceSetting("", self.k)
        for question in self.questions[:prompts]:
            self.model.drop_cache()
            stream = self.model.stream_chat(self.plan(question, every).messages,
                                            SamplingParams.greedy(1))
            stream.read()
            speed.observe(self.model.model_id, stream.stats.evaluated_tokens,
                          stream.stats.ttft_s)
        return speed


def budget_settings(k: int) -> list[SourceSetting]:
    """The budgets table's rows: the number of passages, their size, a token budget."""
    return [*(SourceSetting(f"k={n}", n) for n in K_CHOICES),
            *(SourceSetting(f"k={k}, words={w}", k, words=w) for w in WORD_CHOICES),
            *(SourceSetting(f"k={k}, tokens={t}", k, budget=t) for t in TOKEN_CHOICES)]


def score_sources(store: Store, embedder: TextEmbedder, questions: Sequence[Question],
                  budgets: bool = False, speed_prompts: int = SPEED_PROMPTS,
                  reranker: LlamaReranker | None = None,
                  rerank_budget_ms: float | None = None) -> dict[str, Any]:
    """The chat's sources at the prompt speed measured here (unprefixed keys), before any
    budget (``unbudgeted_``), for a first answer, before any speed is measured
    (``first_answer_``) and at the stated laptop speed (``at_60tps_``); with ``budgets``, the
    table of other settings. With ``reranker``, chosen as the chat chooses with it."""
    model = LocalModel.load(context_size=Settings().model.context_size)
    seconds = KnowledgeSettings().source_seconds  # the chat's default
    try:
        bench = SourceBench(store, embedder, model, questions, reranker, rerank_budget_ms)
        speed = bench.measure_speed(speed_prompts)
        here = speed.budget(model.model_id, seconds)
        result: dict[str, Any] = {"prompt_tps": round(speed.tokens_per_s, 1),
                                  "load_average": round(os.getloadavg()[0], 2),
                                  "source_seconds": seconds, "source_budget": here}
        result.update(bench.score(SourceSetting("", bench.k, here)))
        others = {"unbudgeted_": None, "first_answer_": PromptSpeed().budget("", seconds),
                  f"at_{STATED_SPEED:.0f}tps_": int(STATED_SPEED * seconds)}
        for prefix, budget in others.items():
            for key, value in bench.score(SourceSetting("", bench.k, budget)).items():
                result[prefix + key] = value
            if budget is not None:
                result[prefix + "source_budget"] = budget
        if budgets:
            result["budgets"] = [{"setting": s.label, **bench.score(s)}
                                 for s in budget_settings(bench.k)]
        return result
    finally:
        model.close()


def _p95(values: Sequence[float]) -> float:
    # Inclusive: never beyond the largest value (a budget's p95 stays within the budget).
    return (round(statistics.quantiles(values, n=20, method="inclusive")[-1], 1)
            if len(values) > 1 else values[0])
