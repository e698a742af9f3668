"""One GGUF model on llama.cpp that pools each sequence of a batch into one row of floats.

Both retrieval runtimes sit on it: the embedder (a row is a text's vector) and the reranker (a
row is a pair's scores). llama-cpp-python's ``Llama`` sizes its context before the vocabulary
can be asked how long a prefix is, and keeps a batch with a sequence slot per context token;
here the model loads first, the context is sized from it, and one batch is filled in place.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

import assistant.engine.llama_log  # noqa: F401  (llama.cpp's messages go to the log file)
from assistant.errors import ModelError

# llama.cpp pads its context to a multiple of this; a batch of another size failed an assertion
# in ggml's matrix product (measured with a 318-token batch).
CONTEXT_STEP = 256
_backend = threading.Lock()
_backend_ready = False


class LlamaEncoder:
    """A model, then (``open``) a context of one batch size; not thread-safe (callers lock)."""

    def __init__(self, path: Path) -> None:
        _init_backend()
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = 0
        self.path = path
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        if not self.model:
            raise ModelError(f"llama.cpp could not load {path.name}; it may need a newer "
                             "Loremind.")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_embd = int(llama_cpp.llama_model_n_embd(self.model))
        self.n_scores = int(llama_cpp.llama_model_n_cls_out(self.model))
        # A text cut to fit keeps its closing token ([SEP], end of text) when the model adds one.
        self.adds_end = bool(llama_cpp.llama_vocab_get_add_eos(self.vocab)
                             or llama_cpp.llama_vocab_get_add_sep(self.vocab))
        self.ctx: llama_cpp.llama_context_p | None = None
        self._batch: llama_cpp.llama_batch | None = None
        self.batch_tokens = 0

    def open(self, batch_tokens: int, sequences: int, threads: int, pooling: int) -> None:
        """Create the context: batches of up to ``batch_tokens`` tokens (rounded up to llama.cpp's
        step) and ``sequences`` sequences, pooled as ``pooling`` says."""
        size = -(-batch_tokens // CONTEXT_STEP) * CONTEXT_STEP
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = params.n_batch = params.n_ubatch = size
        params.n_seq_max = sequences
        params.n_threads = params.n_threads_batch = threads
        params.embeddings = True
        params.pooling_type = pooling
        params.kv_unified = True  # a decoder model's sequences each get the whole context
        self.ctx = llama_cpp.llama_init_from_model(self.model, params)
        if not self.ctx:
            raise ModelError(f"llama.cpp could not make room to run {self.path.name} "
                             f"({size} tokens at a time).")
        self._batch = llama_cpp.llama_batch_init(size, 0, 1)  # one sequence id per token
        self.batch_tokens = size

    def close(self) -> None:
        """Free the batch, the context and the model."""
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if self.ctx:
            llama_cpp.llama_free(self.ctx)
            self.ctx = None
        if self.model:
            llama_cpp.llama_model_free(self.model)
            self.model = None

    def __del__(self) -> None:
        if getattr(self, "model", None):
            self.close()

    def tokens(self, text: str, special: bool = False, parse_special: bool = False) -> list[int]:
        """``text``'s tokens; ``special`` adds the model's own ([CLS] … [SEP]),
        ``parse_special`` reads special tokens written in the text (a template's)."""
        data = text.encode("utf-8")
        room = len(data) + 8  # never more tokens than bytes, plus the special ones
        buffer = (llama_cpp.llama_token * room)()
        count = llama_cpp.llama_tokenize(self.vocab, data, len(data), buffer, room, special,
                                         parse_special)
        if count < 0:
            raise ModelError(f"{self.path.name} could not tokenize a text of {len(data)} bytes.")
        return list(buffer[:count])

    def piece(self, token: int) -> bytes:
        """The text of one token, as bytes (a byte-level token may hold part of a character)."""
        buffer = ctypes.create_string_buffer(64)
        size = llama_cpp.llama_token_to_piece(self.vocab, token, buffer, 64, 0, False)
        return buffer.raw[:max(0, size)]

    def special(self, name: str) -> int:
        """A special token's id ("bos", "eos" or "sep"); -1 when the vocabulary has none."""
        getter = {"bos": llama_cpp.llama_vocab_bos, "eos": llama_cpp.llama_vocab_eos,
                  "sep": llama_cpp.llama_vocab_sep}[name]
        return int(getter(self.vocab))

    def set_threads(self, threads: int) -> None:
        llama_cpp.llama_set_n_threads(self.ctx, threads, threads)

    def pooled(self, sequences: list[list[int]], width: int) -> np.ndarray:
        """One ``llama_decode`` of ``sequences`` (sequence id = place in the list); the first
        ``width`` floats llama.cpp pooled for each."""
        batch: Any = self._batch  # llama-cpp-python types some of its pointer fields wrongly
        if batch is None or self.ctx is None:
            raise ModelError(f"{self.path.name} is closed.")
        if sum(len(sequence) for sequence in sequences) > self.batch_tokens:
            raise ModelError(f"{len(sequences)} texts do not fit one batch of "
                             f"{self.batch_tokens} tokens.")
        n = 0
        for seq_id, sequence in enumerate(sequences):
            for pos, token in enumerate(sequence):
                batch.token[n] = token
                batch.pos[n] = pos
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq_id
                batch.logits[n] = True  # pooling reads every token's output
                n += 1
        batch.n_tokens = n
        memory = llama_cpp.llama_get_memory(self.ctx)
        if memory:  # a decoder model (Qwen3) keeps a cache: each batch starts from a clean one
            llama_cpp.llama_memory_clear(memory, True)
        if llama_cpp.llama_decode(self.ctx, batch) != 0:
            raise ModelError(f"llama.cpp could not run {self.path.name} on {len(sequences)} "
                             "texts.")
        rows = np.empty((len(sequences), width), dtype=np.float32)
        for seq_id in range(len(sequences)):
            pointer = llama_cpp.llama_get_embeddings_seq(self.ctx, seq_id)
            if not pointer:
                raise ModelError(f"{self.path.name} pooled no vector (its pooling type?).")
            rows[seq_id] = np.ctypeslib.as_array(pointer, shape=(width,))
        return rows


def _init_backend() -> None:
    global _backend_ready
    with _backend:
        if not _backend_ready:
            llama_cpp.llama_backend_init()
            _backend_ready = True
