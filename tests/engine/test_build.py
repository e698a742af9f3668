"""The llama.cpp build the set-up makes: ggml's own CPU thread pool, not OpenMP.

torch (the embedder) loads the same OpenMP library; with torch's threads pooled on another lane,
libgomp counts more threads than cores and stops spinning between llama.cpp's steps, which made
the app generate 14-32 % slower than llama.cpp alone (README: GPU offload, set-up).
"""

from __future__ import annotations

import llama_cpp


def test_llama_cpp_runs_its_threads_without_openmp():
    features = llama_cpp.llama_print_system_info().decode()
    assert "OPENMP = 1" not in features, f"built with OpenMP ({features}): run ./scripts/setup"
