"""Scores of passages against a question from a GGUF cross-encoder (a reranker) on llama.cpp.

A reranker reads the question and a passage together and gives one score: how well the passage
answers. In llama.cpp that is a pooling type (RANK) whose pooled row is the classification
head's output; the score is its first float, as llama-server's ``/rerank`` reports it. Pairs
are formatted as llama-server formats them: with the model's own ``rerank`` template when it
has one (Qwen3-Reranker), else ``[BOS] question [EOS] [SEP] passage [EOS]`` as the vocabulary
adds those tokens (bge-reranker, jina-reranker). Many pairs go in one ``llama_decode``.

A score is the model's log-odds that the passage answers (:data:`RELEVANT_SCORE` and above:
relevant): a one-output head gives it as it is (bge-reranker's logit; jina-reranker-v1-tiny,
whose head llama.cpp ends in a tanh, its sign), a yes/no head (Qwen3-Reranker) gives the log of
P(yes)/P(no) whether or not llama.cpp turned its two outputs into probabilities.

In a search, :func:`rerank` scores the best-ranked candidates first, a small batch at a time,
while the reranker's measured speed says the next batch ends within the budget.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import llama_cpp
import numpy as np

from assistant.engine.gguf_file import validate_model_file
from assistant.engine.threads import ThreadPolicy
from assistant.knowledge.llama_encoder import LlamaEncoder
from assistant.work import checkpoint

BATCH_TOKENS = 1024
MAX_SEQUENCES = 32
PAIR_TOKENS = 512  # the most tokens of one pair (the passage is cut) unless the context is shorter
QUERY_CHARS = 1000  # a question is cut to this much, so that a pair always has room for a passage
# The score from which a passage is about the question: log-odds 0, a probability of one half,
# which is where a cross-encoder trained on relevant and irrelevant pairs puts the line.
RELEVANT_SCORE = 0.0
# Pairs per llama_decode in a search: one pair of a 128-word-piece chunk took 60 ms on a random
# model of jina-reranker-v1-tiny's shape, and 1, 2, 4 and 8 pairs a decode scored 16.6, 17.6,
# 17.0 and 16.9 pairs/s (two shared cores): two wastes nothing and stops within ~0.1 s.
RERANK_BATCH = 2
SPEED_WEIGHT = 0.3  # the newest measurement's weight in the running load estimate
# A passage of about a chunk's length (128 word pieces) that measure_speed scores.
_SPEED_TEXT = " ".join(["the backup of a database is restored on another server"] * 13)


class LlamaReranker:
    """Scores passages against a question; higher is a better answer."""

    def __init__(self, path: Path, *, name: str | None = None, batch_tokens: int = BATCH_TOKENS,
                 threads: ThreadPolicy | None = None) -> None:
        info = validate_model_file(Path(path), "reranker")
        self.name = name or info.path.stem
        self.path = info.path
        self._policy = threads or ThreadPolicy()
        self._encoder = LlamaEncoder(info.path)
        self._pair_cap = min(info.context_length or PAIR_TOKENS, PAIR_TOKENS)
        self._encoder.open(max(batch_tokens, self._pair_cap), MAX_SEQUENCES,
                           self._policy.choose(), llama_cpp.LLAMA_POOLING_TYPE_RANK)
        template = llama_cpp.llama_model_chat_template(self._encoder.model, b"rerank")
        self.template = template.decode("utf-8") if template else None
        self._lock = threading.Lock()
        self.calls = 0  # pairs scored so far
        # What a decode costs: a part that does not grow with the tokens (reading the weights),
        # a part per token (a random bge-reranker-v2-m3 of its real shape took 0.23 s for a
        # 17-token pair, 1.75 s for 159 tokens, on two busy cores), and how much slower than
        # that the machine runs now (from every decode). None until measured.
        self._decode_s: tuple[float, float] | None = None
        self._slowdown = 1.0
        self.reranks = 0  # rerank stages run (searches), and the seconds they took
        self.rerank_s = 0.0

    def close(self) -> None:
        """Free llama.cpp's model and context."""
        with self._lock:
            self._encoder.close()

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """One score per passage, in the passages' order (a checkpoint before each batch)."""
        return self.score_pairs([self.pair_tokens(query, passage) for passage in passages])

    def score_pairs(self, pairs: Sequence[list[int]]) -> list[float]:
        """One score per pair of :meth:`pair_tokens`, many pairs per decode."""
        scores = [0.0] * len(pairs)
        begin = 0
        while begin < len(pairs):
            checkpoint()
            end, used = begin, 0
            while end < len(pairs) and (end == begin or (
                    used + len(pairs[end]) <= self._encoder.batch_tokens
                    and end - begin < MAX_SEQUENCES)):
                used += len(pairs[end])
                end += 1
            with self._lock:
                self._encoder.set_threads(self._policy.choose())
                started = time.perf_counter()
                rows = self._encoder.pooled(list(pairs[begin:end]), self._encoder.n_scores)
                self._observe(used, time.perf_counter() - started)
                self.calls += end - begin
            scores[begin:end] = [relevance(row) for row in rows]
            begin = end
        return scores

    def measure_speed(self) -> None:
        """Time a short pair and a chunk-sized one (after a first decode, which warms llama.cpp
        up), so that the first search's budget knows what a decode costs."""
        short = self.pair_tokens("backup", "restore")
        long = self.pair_tokens("how is a backup restored", _SPEED_TEXT)
        with self._lock:
            self._encoder.set_threads(self._policy.choose())
            times = []
            for pair in (short, short, long):
                started = time.perf_counter()
                self._encoder.pooled([pair], self._encoder.n_scores)
                times.append(time.perf_counter() - started)
        per_token = max(times[2] - times[1], 0.0) / max(len(long) - len(short), 1)
        self._decode_s = (max(times[1] - per_token * len(short), 0.0), per_token)
        self._slowdown = 1.0

    def seconds_for(self, tokens: int) -> float | None:
        """How long one decode of ``tokens`` tokens of pairs should take now; None before any
        decode was timed."""
        if self._decode_s is None:
            return None
        fixed, per_token = self._decode_s
        return (fixed + per_token * tokens) * self._slowdown

    def _observe(self, tokens: int, seconds: float) -> None:
        expected = self.seconds_for(tokens)
        if expected is None:  # not measured: all of it counts per token
            self._decode_s = (0.0, seconds / max(tokens, 1))
        elif expected > 0:
            self._slowdown = ((1 - SPEED_WEIGHT) * self._slowdown
                              + SPEED_WEIGHT * self._slowdown * seconds / expected)

    def pair_tokens(self, query: str, passage: str) -> list[int]:
        """The tokens of one (question, passage) pair, as llama-server makes them, the passage
        cut so that the pair fits."""
        encoder = self._encoder
        query = query[:QUERY_CHARS]
        if self.template is not None:
            head, _, tail = self.template.partition("{document}")
            first = encoder.tokens(head.replace("{query}", query), parse_special=True)
            last = encoder.tokens(tail.replace("{query}", query), parse_special=True)
        else:
            first, last = self._plain_ends(query)
        middle = encoder.tokens(passage)
        return (first + middle[:max(0, self._pair_cap - len(first) - len(last))] + last)[
            :self._pair_cap]

    def _plain_ends(self, query: str) -> tuple[list[int], list[int]]:
        """What comes before and after the passage without a template: the question between
        the special tokens the vocabulary adds."""
        encoder = self._encoder
        bos, eos, sep = (encoder.special(name) for name in ("bos", "eos", "sep"))
        end = eos if eos >= 0 else sep
        vocab = encoder.vocab
        first = [bos] if llama_cpp.llama_vocab_get_add_bos(vocab) else []
        first += encoder.tokens(query)
        if llama_cpp.llama_vocab_get_add_eos(vocab):
            first.append(end)
        if llama_cpp.llama_vocab_get_add_sep(vocab):
            first.append(sep)
        return first, [end] if llama_cpp.llama_vocab_get_add_eos(vocab) else []


def relevance(row: np.ndarray) -> float:
    """The log-odds that a passage answers, from one pooled row: a one-output head's value, or
    for a yes/no head (Qwen3-Reranker: P(yes), P(no) once llama.cpp applies its softmax, the
    two logits before) the log of their ratio."""
    if len(row) < 2:
        return float(row[0])
    yes, no = float(row[0]), float(row[1])
    if 0.0 <= yes <= 1.0 and 0.0 <= no <= 1.0 and abs(yes + no - 1.0) < 1e-4:
        tiny = 1e-12
        return math.log(max(yes, tiny)) - math.log(max(no, tiny))
    return yes - no


def rerank(reranker: LlamaReranker, query: str, passages: Sequence[str],
           budget_ms: float) -> list[float | None]:
    """Scores of ``passages`` (ranked best first) against ``query``, the first ones first, up to
    ``RERANK_BATCH`` pairs a decode, while the reranker's measured speed says the next pairs end
    within ``budget_ms`` of the start (before any measurement: one pair, to measure); None for
    those the budget left unscored. The time it took is added to the reranker's counters."""
    started = time.perf_counter()
    deadline = started + budget_ms / 1000
    scores: list[float | None] = [None] * len(passages)
    begin = 0
    while begin < len(passages):
        pairs = [reranker.pair_tokens(query, text)
                 for text in passages[begin:begin + RERANK_BATCH]]
        while pairs and not _ends_in_time(reranker, pairs, deadline):
            pairs.pop()
        if not pairs:
            break
        scores[begin:begin + len(pairs)] = reranker.score_pairs(pairs)
        begin += len(pairs)
    reranker.reranks += 1
    reranker.rerank_s += time.perf_counter() - started
    return scores


def _ends_in_time(reranker: LlamaReranker, pairs: list[list[int]], deadline: float) -> bool:
    left = deadline - time.perf_counter()
    expected = reranker.seconds_for(sum(len(pair) for pair in pairs))
    if expected is None:
        return len(pairs) == 1 and left > 0
    return expected <= left
