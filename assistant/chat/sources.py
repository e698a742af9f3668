"""Which passages an answer reads: the search's best, about the question, as many as the model
reads in a few seconds.

A source costs the user time before the first word of the answer: the model reads every token of
it first. How fast it reads depends on the model and the machine (SmolLM2-135M reads hundreds of
tokens a second on two idle cores, a 3B model on a laptop's CPU about 60), so the sources'
budget is not a count of passages but what the model reads in a few seconds (``[knowledge]
source_seconds``, 4 by default) at its measured speed: at least the best passage, at most the
``knowledge_k`` the search returns. The chat and ``loremind bench retrieval`` choose through
:func:`choose_sources`, so the benchmark measures exactly what the chat gives the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.chat.events import Citation
from assistant.chat.prompt import compose
from assistant.engine.protocol import ChatEngine

# The store and the search import LanceDB, the embedder torch: imported where first used (see
# answering).
if TYPE_CHECKING:
    import numpy as np

    from assistant.knowledge.embedding import TextEmbedder
    from assistant.knowledge.reranker import LlamaReranker
    from assistant.knowledge.search import SearchResult
    from assistant.store import Store

# Below this cosine, a chunk is not about the question: leave it out. Measured on the
# retrieval benchmark's index (README): of 20 general questions, "What time is it in Tokyo?"
# reaches 0.346 (PostgreSQL's time zones) and "What's the weather like tomorrow?" 0.332 (its
# 'tomorrow' date literal), the rest 0.29 at best; "Explain how a heart valve works" 0.317 on a
# boiler manual. Of the 112 benchmark questions whose right page is in the top 5, 107 keep it
# at 0.35 (110 at 0.32, which let those two general questions cite the date/time pages).
MIN_SOURCE_SIMILARITY = 0.35
# With a reranker, a passage it scored is a source when its score says it answers: log-odds at
# least 0, a probability of at least one half (bge-reranker gives a logit, jina-reranker-v1-tiny
# a tanh of one, Qwen3-Reranker P(yes) and P(no), all read as log-odds by the reranker). This
# replaces the cosine floor for scored passages: the reranker reads the question and the passage
# together, where the cosine compares two vectors made apart, and its line does not move with
# the embedder (0.35 was measured for all-MiniLM-L6-v2; another embedder's cosines spread
# differently). A passage the budget left unscored keeps the cosine floor. Not measured here:
# only a random tiny reranker is at hand, and a real one's quality needs a download.
MIN_RERANK_SCORE = 0.0
# The prompt speed assumed until the model has read a prompt: its budget, 1,200 tokens, is the
# smallest measured to keep the needle of as many detail questions as all four passages do,
# within 0.03 (0.629 against 0.645 on the retrieval benchmark, README: source budgets).
DEFAULT_PROMPT_SPEED = 300.0
# Fewer evaluated tokens than this time mostly the start of a generation, not the reading.
MIN_MEASURED_TOKENS = 64
# Where a passage may be cut: after a sentence's end mark, or at a line's end (lists, tables).
SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
# The newest measurement's weight in the running estimate: the machine's load changes.
SPEED_WEIGHT = 0.3


class PromptSpeed:
    """A running estimate of how many prompt tokens a second the model in use reads, from each
    answer's own counters (tokens evaluated before the first token, and the time it took)."""

    def __init__(self, default: float = DEFAULT_PROMPT_SPEED) -> None:
        self.default = default
        self.tokens_per_s = default
        self.measured = 0  # answers measured for ``model_id``
        self.model_id = ""

    def observe(self, model_id: str, evaluated_tokens: int, ttft_s: float) -> None:
        """Fold in one answer's prompt cost; another model starts the estimate afresh."""
        if model_id != self.model_id:
            self.model_id, self.tokens_per_s, self.measured = model_id, self.default, 0
        if evaluated_tokens < MIN_MEASURED_TOKENS or ttft_s <= 0:
            return
        speed = evaluated_tokens / ttft_s
        self.tokens_per_s = (speed if not self.measured
                             else (1 - SPEED_WEIGHT) * self.tokens_per_s + SPEED_WEIGHT * speed)
        self.measured += 1

    def budget(self, model_id: str, seconds: float) -> int:
        """The tokens of sources ``model_id`` reads in ``seconds``."""
        speed = self.tokens_per_s if model_id == self.model_id else self.default
        return int(speed * seconds)


def choose_sources(store: Store, embedder: TextEmbedder, model: ChatEngine, question: str,
                   k: int, folders: Sequence[Path] = (), vector: np.ndarray | None = None,
                   budget: int | None = None, section_words: int | None = None,
                   reranker: LlamaReranker | None = None, rerank_budget_ms: float | None = None
                   ) -> list[Citation]:
    """The numbered sources for ``question``: the search's ``k`` best passages (of up to
    ``section_words`` words; None: the search's own), those about the question, and of them as
    many as fit in ``budget`` tokens (None: all). ``reranker`` is the one the core's parts hold
    (None: none is set), given ``rerank_budget_ms`` (None: the search's default)."""
    from assistant.knowledge.search import RERANK_BUDGET_MS, search_knowledge
    from assistant.knowledge.sections import SECTION_WORDS

    results = search_knowledge(store, embedder, question, k, folders, vector=vector,
                               section_words=section_words or SECTION_WORDS,
                               reranker=reranker,
                               rerank_budget_ms=(RERANK_BUDGET_MS if rerank_budget_ms is None
                                                 else rerank_budget_ms))
    relevant = [r for r in results if about_question(r)]
    citations = [Citation(n, r.path, r.page or 0, r.heading, r.text, r.score)
                 for n, r in enumerate(relevant, start=1)]
    return fit_sources(model, citations, question, budget)


def about_question(result: SearchResult) -> bool:
    """Whether a search result is about the question: by the reranker's score when it scored
    it, else by the cosine (every result has one, words-only matches too: a shared word
    ("water") is not enough to make a document a source for a general question)."""
    if result.rerank_score is not None:
        return result.rerank_score >= MIN_RERANK_SCORE
    return result.similarity is not None and result.similarity >= MIN_SOURCE_SIMILARITY


def fit_sources(model: ChatEngine, citations: Sequence[Citation], question: str,
                budget: int | None) -> list[Citation]:
    """The best sources, in order, within ``budget`` tokens (None: all): the first always (one
    passage is the least an answer from documents needs), then each whole while it fits; the
    first that does not fit is cut after its last sentence that does (dropped when not even
    its first fits), and none follows it. Cutting, not dropping, kept more needles at every
    budget (README: source budgets)."""
    kept = list(citations[:1])
    for citation in citations[1:]:
        if budget is None or source_tokens(model, [*kept, citation], question) <= budget:
            kept.append(citation)
            continue
        cut = _cut_to_fit(model, kept, citation, question, budget)
        if cut is not None:
            kept.append(cut)
        break
    return kept


def _cut_to_fit(model: ChatEngine, kept: Sequence[Citation], citation: Citation,
                question: str, budget: int) -> Citation | None:
    """``citation`` cut after the most whole sentences that keep the sources within
    ``budget`` (a binary search: the count grows with the text), or None."""
    text = citation.text.rstrip()
    ends = [m.end() for m in SENTENCE_END.finditer(text)]
    best, low, high = None, 0, len(ends) - 1
    while low <= high:
        middle = (low + high) // 2
        candidate = replace(citation, text=text[:ends[middle]].rstrip() + " …")
        if source_tokens(model, [*kept, candidate], question) <= budget:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def source_tokens(model: ChatEngine, citations: Sequence[Citation], question: str) -> int:
    """The prompt tokens ``citations`` add to ``question``: their header and their text, by the
    engine's own count."""
    if not citations:
        return 0
    bare = model.count_tokens(compose("", [], [], [], question))
    return model.count_tokens(compose("", [], citations, [], question)) - bare
