"""Held-out loss measured by llama.cpp on the exported adapter, the way the app will run it.

The base model is loaded once; the loss is taken without the adapter, then with it applied
through llama.cpp's adapter API at scale 1 (the same calls :class:`AdapterLibrary` makes). The
loss is the mean negative log-likelihood of the counted tokens, as in training.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import llama_cpp
import numpy as np

from assistant.errors import TrainingError
from assistant.training.data import IGNORE, Example


class LlamaScorer:
    """One llama.cpp model that returns every position's logits, with or without an adapter."""

    def __init__(self, model_path: Path, *, n_ctx: int = 512, threads: int = 0) -> None:
        n_threads = threads or os.cpu_count() or 1
        try:
            self.llama = llama_cpp.Llama(model_path=os.fspath(model_path), n_ctx=n_ctx,
                                         n_batch=n_ctx, logits_all=True, n_threads=n_threads,
                                         n_threads_batch=n_threads, n_gpu_layers=0,
                                         # float32 KV cache: the f16 default alone moves
                                         # logits by ~1e-2 against transformers
                                         type_k=llama_cpp.GGML_TYPE_F32,
                                         type_v=llama_cpp.GGML_TYPE_F32, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise TrainingError(f"llama.cpp could not load {model_path.name}: {exc}") from exc

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """Logits at every position of ``ids`` (shape (len(ids), vocab)), from a clean cache."""
        if len(ids) > self.llama.n_ctx():
            raise TrainingError(f"An example of {len(ids)} tokens is longer than the "
                                f"evaluation context ({self.llama.n_ctx()}).")
        self.llama.reset()
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.llama.ctx), True)
        self.llama.eval(list(ids))
        return np.array(self.llama.scores[:len(ids)], dtype=np.float32)

    def loss(self, examples: Sequence[Example]) -> float:
        """Mean negative log-likelihood of the counted tokens of ``examples``."""
        total, count = 0.0, 0
        for example in examples:
            logits = self.logits(example.input_ids).astype(np.float64)
            targets = np.array(example.labels[1:])
            keep = targets != IGNORE
            if not keep.any():
                continue
            rows = logits[:-1][keep]
            peak = rows.max(axis=1, keepdims=True)
            log_z = np.log(np.exp(rows - peak).sum(axis=1)) + peak[:, 0]
            total += float((log_z - rows[np.arange(len(rows)), targets[keep]]).sum())
            count += int(keep.sum())
        if not count:
            raise TrainingError("The held-out examples have no tokens to measure.")
        return total / count

    @contextmanager
    def adapter(self, path: Path, scale: float = 1.0) -> Iterator[None]:
        """Apply the adapter at ``path`` for the duration of the block."""
        handle = llama_cpp.llama_adapter_lora_init(self.llama.model, os.fsencode(path))
        if not handle:
            raise TrainingError(f"llama.cpp could not load the exported adapter {path.name}.")
        array = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(handle)
        scales = (ctypes.c_float * 1)(scale)
        try:
            if llama_cpp.llama_set_adapters_lora(self.llama.ctx, array, 1, scales):
                raise TrainingError(f"llama.cpp refused the exported adapter {path.name}.")
            yield
        finally:
            llama_cpp.llama_set_adapters_lora(self.llama.ctx, None, 0, None)
            llama_cpp.llama_adapter_lora_free(handle)
            self.llama.reset()

    def close(self) -> None:
        """Free the model."""
        self.llama.close()


def heldout_losses(model_path: Path, adapter_path: Path, examples: Sequence[Example],
                   threads: int = 0) -> tuple[float, float]:
    """(loss without the adapter, loss with it) on ``examples``, measured by llama.cpp."""
    n_ctx = max(64, max(len(e.input_ids) for e in examples))
    scorer = LlamaScorer(model_path, n_ctx=n_ctx, threads=threads)
    try:
        before = scorer.loss(examples)
        with scorer.adapter(adapter_path):
            after = scorer.loss(examples)
    finally:
        scorer.close()
    return before, after
