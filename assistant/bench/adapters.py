"""``loremind bench adapters``: switching adapters in place against reloading the model with one.

Both figures come from the same run, model and adapter file, so the ratio holds on any machine.
The adapter is generated for the model (random weights of the right shapes), so the benchmark
needs nothing but the model file.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import llama_cpp

from assistant.bench.synthetic import write_lora
from assistant.defaults import embedded_chat_model
from assistant.engine.adapter_files import AdapterCatalog
from assistant.engine.adapters import AdapterLibrary
from assistant.engine.gguf_file import validate_model_file
from assistant.engine.model import LocalModel

CONTEXT = 2048
SWITCHES = 200
RELOADS = 3
TARGETS = ("attn_q", "attn_k", "attn_v", "attn_output")
RANK = 8


def run_adapter_bench(model_path: Path | None = None, threads: int = 0) -> dict[str, Any]:
    """Median time to switch the active set (set + cache drop) and to load model + adapter."""
    path = Path(model_path) if model_path else embedded_chat_model()
    base = validate_model_file(path)
    with tempfile.TemporaryDirectory(prefix="loremind-bench-") as folder:
        adapter = write_lora(Path(folder) / "bench-adapter.gguf", base, targets=TARGETS,
                             rank=RANK)
        model = LocalModel.load(path, context_size=CONTEXT, threads=threads)
        try:
            switch, first_load = _switch_times(model, Path(folder))
            gpu_layers = model.report.n_gpu_layers
            n_threads = model.llama.n_threads
        finally:
            model.close()
        reload = _reload_times(path, adapter, gpu_layers, n_threads)
        adapter_bytes = adapter.stat().st_size
    switch_ms = statistics.median(switch) * 1000
    reload_ms = statistics.median(reload) * 1000
    return {
        "model": str(path),
        "adapter_bytes": adapter_bytes,
        "switch_ms": round(switch_ms, 4),
        "reload_ms": round(reload_ms, 2),
        "speedup": round(reload_ms / switch_ms, 1),
        "first_load_ms": round(first_load * 1000, 3),
        "switches": len(switch),
        "reloads": len(reload),
    }


def _switch_times(model: LocalModel, folder: Path) -> tuple[list[float], float]:
    """Times of alternating adapter-on / adapter-off, and of the adapter's first load."""
    library = AdapterLibrary(model, AdapterCatalog([folder], model.info))
    try:
        (info,) = library.catalog.adapters
        if not info.compatible:
            raise RuntimeError(f"the generated adapter does not fit: {info.reason}")
        started = time.perf_counter()
        library.apply([(info, 1.0)])
        first_load = time.perf_counter() - started
        times = []
        for i in range(SWITCHES):
            started = time.perf_counter()
            changed = library.apply([] if i % 2 == 0 else [(info, 1.0)])
            times.append(time.perf_counter() - started)
            if not changed:
                raise RuntimeError("a benchmark step did not switch the set")
        return times, first_load
    finally:
        library.close()


def _reload_times(path: Path, adapter: Path, gpu_layers: int, threads: int) -> list[float]:
    """Times to build a ``Llama`` with the adapter, as llama-cpp-python's own route does."""
    times = []
    for _ in range(RELOADS):
        started = time.perf_counter()
        llama = llama_cpp.Llama(model_path=str(path), lora_path=str(adapter), n_ctx=CONTEXT,
                                n_gpu_layers=gpu_layers, n_threads=threads,
                                n_threads_batch=threads, verbose=False)
        times.append(time.perf_counter() - started)
        llama.close()
    return times
