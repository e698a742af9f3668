"""Scores of passages against a question from a GGUF cross-encoder (a reranker) on llama.cpp.

A reranker reads the question and a passage together and gives one score: how well the passage
answers. In llama.cpp that is a pooling type (RANK) whose pooled row is the classification
head's output; the score is its first float, as llama-server's ``/rerank`` reports it. Pairs
are formatted as llama-server formats them: with the model's own ``rerank`` template when it
has one (Qwen3-Reranker), else ``[BOS] question [EOS] [SEP] passage [EOS]`` as the vocabulary
adds those tokens (bge-reranker, jina-reranker). Many pairs go in one ``llama_decode``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import llama_cpp

from assistant.engine.gguf_file import validate_model_file
from assistant.engine.threads import ThreadPolicy
from assistant.knowledge.llama_encoder import LlamaEncoder
from assistant.work import checkpoint

BATCH_TOKENS = 1024
MAX_SEQUENCES = 32
PAIR_TOKENS = 512  # the most tokens of one pair (the passage is cut) unless the context is shorter
QUERY_CHARS = 1000  # a question is cut to this much, so that a pair always has room for a passage


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

    def close(self) -> None:
        """Free llama.cpp's model and context."""
        with self._lock:
            self._encoder.close()

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """One score per passage, in the passages' order (a checkpoint before each batch)."""
        pairs = [self.pair_tokens(query, passage) for passage in passages]
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
                rows = self._encoder.pooled(pairs[begin:end], self._encoder.n_scores)
                self.calls += end - begin
            scores[begin:end] = [float(row[0]) for row in rows]
            begin = end
        return scores

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
