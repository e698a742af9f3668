"""Sentence embeddings from a GGUF embedding model on llama.cpp, batched and normalized.

The same interface as the sentence-transformers :class:`~assistant.knowledge.embedder.Embedder`
(:class:`~assistant.knowledge.embedding.TextEmbedder`): documents go to the model many per
``llama_decode`` (one sequence id each), a cancellable slice at a time, and a query waiting for
the model goes before a batch's next slice. Pooling comes from the file (``<arch>.pooling_type``,
as llama.cpp's converter writes it from the model's own pooling config); vectors are
L2-normalized, as sentence-transformers normalizes the models Loremind offers. Models that were
trained with prefixes (``search_query: ``…) get them from their catalogue entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import llama_cpp
import numpy as np

from assistant.engine.gguf_file import validate_model_file
from assistant.engine.threads import ThreadPolicy
from assistant.errors import ModelError
from assistant.knowledge.llama_encoder import LlamaEncoder
from assistant.knowledge.piece_spans import piece_spans
from assistant.work import checkpoint

# Tokens per llama_decode (at least the longest text). Sequences of one batch attend only to
# themselves, but llama.cpp computes attention over the whole batch, so a big batch wastes
# quadratic work: all-MiniLM-L6-v2 embedded 15.9, 15.7, 14.3 and 12.5 chunks/s with 256, 512,
# 1024 and 2048 (`loremind bench embedder`, two shared cores); 512 packs two chunks or many
# short texts per call, and a question waits for one such slice (about 0.1 s).
BATCH_TOKENS = 512
MAX_SEQUENCES = 64  # sequence ids per batch
# The most tokens of one text (prefix and special tokens included) unless the model's context
# is shorter: chunks are about 200 word pieces; a longer text (a long memory or message) is cut,
# as sentence-transformers cuts at its max_seq_length.
TEXT_TOKENS = 512
SHORT_TEXT_CHARS = 500  # texts this short count as queries for times_embedded
RECENT_TEXTS = 256
POOLING_NONE = llama_cpp.LLAMA_POOLING_TYPE_NONE
POOLING_RANK = llama_cpp.LLAMA_POOLING_TYPE_RANK


class LlamaEmbedder:
    """Turns texts into unit vectors with a GGUF embedding model; counts its word pieces."""

    def __init__(self, path: Path, *, name: str | None = None, query_prefix: str = "",
                 document_prefix: str = "", max_tokens: int | None = None,
                 batch_tokens: int = BATCH_TOKENS, threads: ThreadPolicy | None = None) -> None:
        info = validate_model_file(Path(path), "embedder")
        pooling = info.pooling
        if pooling is None or pooling in (POOLING_NONE, POOLING_RANK):
            raise ModelError(f"{info.path.name} does not say how to pool its token vectors into "
                             "one (no sentence pooling type in its header); convert it again "
                             "with llama.cpp's convert_hf_to_gguf.py.")
        self.name = name or info.path.stem
        self.path = info.path
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self._policy = threads or ThreadPolicy()
        self._encoder = LlamaEncoder(info.path)
        encoder = self._encoder
        # What surrounds a text: the model's special tokens and the longer prefix.
        around = len(encoder.tokens("", special=True)) + max(
            len(encoder.tokens(query_prefix)), len(encoder.tokens(document_prefix)))
        longest = min(info.context_length or TEXT_TOKENS, TEXT_TOKENS)
        self.max_tokens = min(longest - around, max_tokens or longest)
        self._sequence_cap = self.max_tokens + around
        encoder.open(max(batch_tokens, self._sequence_cap), MAX_SEQUENCES, self._policy.choose(),
                     pooling)
        self.dim = encoder.n_embd
        self._lock = threading.Lock()  # one llama.cpp context: never two decodes at once
        self._queries = threading.Condition()  # single texts waiting: they go before batches
        self._waiting_queries = 0
        self.calls = 0
        self._recent: OrderedDict[str, int] = OrderedDict()

    def close(self) -> None:
        """Free llama.cpp's model and context."""
        with self._lock:
            self._encoder.close()

    # -- embedding -------------------------------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors of documents (with the document prefix), one per text.

        Longest first, packed into batches of up to ``batch_tokens`` tokens; before each batch a
        checkpoint (:mod:`assistant.work`: cancel, step aside for an answer), and any query
        waiting for the model goes first.
        """
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        tokens = [self._sequence(self.document_prefix + text) for text in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(tokens[i]))
        begin = 0
        while begin < len(order):
            checkpoint()
            self._let_queries_go_first()
            picked = self._next_batch(order, begin, tokens)
            with self._lock:
                vectors[picked] = self._embed_locked([tokens[i] for i in picked])
                self._count([texts[i] for i in picked])
            begin += len(picked)
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector (with the query prefix), ahead of a batch's next slice."""
        tokens = self._sequence(self.query_prefix + text)
        with self._queries:
            self._waiting_queries += 1
        try:
            with self._lock:
                vector = self._embed_locked([tokens])[0]
                self._count([text])
                return vector
        finally:
            with self._queries:
                self._waiting_queries -= 1
                self._queries.notify_all()

    def times_embedded(self, text: str) -> int:
        """How many times ``text`` (a short one, as a question is) was embedded lately."""
        return self._recent.get(text, 0)

    def _next_batch(self, order: list[int], begin: int, tokens: list[list[int]]) -> list[int]:
        picked: list[int] = []
        used = 0
        for index in order[begin:]:
            if picked and (used + len(tokens[index]) > self._encoder.batch_tokens
                           or len(picked) == MAX_SEQUENCES):
                break
            picked.append(index)
            used += len(tokens[index])
        return picked

    def _embed_locked(self, sequences: list[list[int]]) -> np.ndarray:
        self._encoder.set_threads(self._policy.choose())
        vectors = self._encoder.pooled(sequences, self.dim)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def _count(self, texts: Sequence[str]) -> None:
        self.calls += len(texts)
        for text in texts:
            if len(text) < SHORT_TEXT_CHARS:
                self._recent[text] = self._recent.pop(text, 0) + 1
                if len(self._recent) > RECENT_TEXTS:
                    self._recent.popitem(last=False)

    def _let_queries_go_first(self) -> None:
        """Before a batch's next slice: wait while a query waits for the model (the lock alone
        could let a batch take it back at once, several slices in a row)."""
        with self._queries:
            while self._waiting_queries:
                self._queries.wait(0.05)

    # -- word pieces ----------------------------------------------------------------------------

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without the special tokens the model adds."""
        return [len(self._encoder.tokens(text)) for text in texts]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of every word piece of ``text`` (to cut text too long for one chunk):
        llama.cpp gives no offsets, so each piece's text is found in ``text``."""
        encoder = self._encoder
        return piece_spans(text, [encoder.piece(token) for token in encoder.tokens(text)])

    def _sequence(self, text: str) -> list[int]:
        """The tokens the model reads for ``text``, special ones included, cut to fit as
        sentence-transformers cuts (the closing [SEP] or end token stays)."""
        tokens = self._encoder.tokens(text, special=True)
        if len(tokens) <= self._sequence_cap:
            return tokens
        if self._encoder.adds_end:
            return tokens[:self._sequence_cap - 1] + tokens[-1:]
        return tokens[:self._sequence_cap]
