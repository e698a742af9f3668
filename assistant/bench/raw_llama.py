"""The baseline of ``bench engine --shape``: llama-cpp-python alone, in a process of its own.

Run as ``python -m assistant.bench.raw_llama``; it reads JSON lines on stdin: first the model
(path, context, threads, GPU layers), answered with ``{"kv_mb": …}`` once it is loaded, then
one turn per line (the prompt's tokens, how many tokens to generate, the threads the app
used), each answered with that turn's figures; at the end of its input it prints its peak RSS.
So the benchmark can alternate a turn of the app and the same turn here, both under the same
load. It loads nothing of Loremind's but this module and the memory reader, so its peak RSS is
what llama.cpp alone needs. Each turn goes through ``Llama.generate``, which reuses the longest
prefix it already holds, as a user of llama-cpp-python would get.
"""

from __future__ import annotations

import ctypes
import json
import re
import sys
import time
from typing import Any

from assistant.process_memory import peak_rss_bytes

# llama.cpp's line when it allocates the KV cache, one per device buffer.
KV_LINE = re.compile(r"KV buffer size\s*=\s*([\d.]+)\s*MiB")
_callbacks: list[Any] = []


def load(job: dict[str, Any]) -> tuple[Any, float]:
    """The model of ``job``, and the MiB of KV cache llama.cpp allocated for it."""
    import llama_cpp

    lines: list[str] = []

    @llama_cpp.llama_log_callback
    def keep(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        lines.append(text.decode("utf-8", errors="replace"))

    # llama.cpp keeps the pointer: the callback must live as long as the process.
    _callbacks.append(keep)
    llama_cpp.llama_log_set(keep, ctypes.c_void_p(0))
    llama = llama_cpp.Llama(model_path=job["path"], n_ctx=job["n_ctx"],
                            n_threads=job["n_threads"], n_threads_batch=job["n_threads"],
                            n_gpu_layers=job["n_gpu_layers"], verbose=False)
    return llama, sum(float(m.group(1)) for m in KV_LINE.finditer("".join(lines)))


def serve(lines: Any, reply: Any) -> None:
    """The model on the first line, then one turn per line; see the module's docstring."""
    import llama_cpp

    llama, kv_mb = load(json.loads(next(lines)))
    reply({"kv_mb": kv_mb})
    for line in lines:
        turn = json.loads(line)
        threads = int(turn.get("threads") or llama.n_threads)
        if threads != llama.n_threads:
            llama_cpp.llama_set_n_threads(llama.ctx, threads, threads)
            llama.n_threads = llama.n_threads_batch = threads
        reply(_turn(llama, turn["prompt"], turn["count"]))
    reply({"peak_rss_mb": peak_rss_bytes() / 2**20})


def _turn(llama: Any, prompt: list[int], count: int) -> dict[str, Any]:
    import llama_cpp

    before = llama_cpp.llama_perf_context(llama.ctx)
    p_tokens, p_ms = int(before.n_p_eval), float(before.t_p_eval_ms)
    started = time.perf_counter()
    stamps: list[float] = []
    first = after = before
    tokens = llama.generate(prompt, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0)
    for _token in tokens:
        stamps.append(time.perf_counter())
        after = llama_cpp.llama_perf_context(llama.ctx)
        if len(stamps) == 1:
            first = after
        if len(stamps) >= count:
            break
    tokens.close()
    evaluated = int(first.n_p_eval) - p_tokens
    prompt_ms = float(first.t_p_eval_ms) - p_ms
    decoded = int(after.n_eval) - int(first.n_eval)
    return {
        "ttft_s": stamps[0] - started,
        "prompt_tokens": len(prompt),
        "evaluated_tokens": evaluated,
        "prompt_tokens_per_s": evaluated / (prompt_ms / 1000) if prompt_ms > 0 else 0.0,
        "completion_tokens": len(stamps),
        "generate_tokens_per_s": ((len(stamps) - 1) / (stamps[-1] - stamps[0])
                                  if len(stamps) > 1 else 0.0),
        "decode_ms_per_token": ((float(after.t_eval_ms) - float(first.t_eval_ms)) / decoded
                                if decoded > 0 else 0.0),
    }


if __name__ == "__main__":
    serve(iter(sys.stdin.readline, ""), lambda data: print(json.dumps(data), flush=True))
