"""``loremind bench engine --shape NAME``: what a real-size model costs on the user's path.

A random model with a catalogue model's exact shape (:mod:`assistant.bench.shapes`) answers a
knowledge question with sources and memories, then follow-ups, through the core's
``chat.ask`` as the GUI and ``loremind ask`` do. The baseline is raw llama-cpp-python in a
process of its own (what a competent user would run instead), given exactly the same prompt
tokens turn by turn, with the threads the app used for that turn, generating as many tokens;
they take turns (a turn of the app, then the same turn of the baseline), so both meet the
same load. Two processes of identical code decode a few per cent apart (where the kernel put
their memory, measured up to 6 % on two cores), so the baseline runs in two processes, one
loaded before the app and one after: the app is compared with their mean, turn by turn, and
``raw_process_ratio`` shows how far the two baselines themselves stand apart (the noise floor
of ``generate_ratio``). Prompt and generation speeds are
llama.cpp's own counters (``llama_perf_context``); times to the first token and generation
rates are taken where the tokens arrive; the KV cache's size is what llama.cpp reports when it
allocates it; peak RSS is each process's own.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.bench.documents import QUESTIONS
from assistant.bench.engine import ChatRun, indexed_core
from assistant.bench.raw_llama import KV_LINE
from assistant.bench.shapes import shape_entry, shaped_model
from assistant.config import ModelSettings
from assistant.core import Loremind
from assistant.engine.model import LoadPlan, LocalModel, SamplingParams
from assistant.process_memory import peak_rss_bytes

ANSWER_TOKENS = 32
# The per-turn figures the baselines' processes are averaged on.
_MEANS = ("ttft_s", "prompt_tokens_per_s", "generate_tokens_per_s", "decode_ms_per_token")
FOLLOW_UPS = 2
NOTE = ("The model has random weights in the exact shape of the named model: its answers are "
        "noise, its speed is real (llama.cpp's speed does not depend on the weights' values).")


def run_shape_bench(name: str, cache: Path, settings: ModelSettings,
                    follow_ups: int = FOLLOW_UPS, tokens: int = ANSWER_TOKENS) -> dict[str, Any]:
    """Write (or reuse) the random model of catalogue model ``name``'s shape, and time it."""
    entry = shape_entry(name)
    return compare_on(shaped_model(name, cache), settings, entry.name, entry.quantization,
                      follow_ups, tokens)


def compare_on(path: Path, settings: ModelSettings, shape: str, quantization: str,
               follow_ups: int = FOLLOW_UPS, tokens: int = ANSWER_TOKENS) -> dict[str, Any]:
    """The app's path on the model ``path``, turn by turn beside raw llama.cpp on the same
    tokens; returns every figure."""
    load_before = os.getloadavg()
    app, raw = _alternate(path, settings, follow_ups, tokens)
    return {
        "shape": shape,
        "note": NOTE,
        "model_file": str(path),
        "model_file_mb": round(path.stat().st_size / 2**20, 1),
        "quantization": quantization,
        "context_size": app["context_size"],
        "n_threads": app["n_threads"],
        "n_gpu_layers": app["n_gpu_layers"],
        "gpu_offload": app["gpu_offload"],
        "cpu_count": os.cpu_count(),
        **_summary(app),
        # Turn by turn (the app and the baselines ran one after another), then the median.
        "generate_ratio": _median_ratio(app["turns"], raw["turns"]),
        "raw": _summary(raw),
        "raw_process_ratio": _median_ratio(*raw["processes"]),
        "turns": _turns(app, raw),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def _alternate(path: Path, settings: ModelSettings, follow_ups: int,
               tokens: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The knowledge question and its follow-ups through ``core.chat.ask``, each turn followed
    by the same prompt in both baselines' processes: the app's figures and the baselines'."""
    plan = LoadPlan.of(path, settings.context_size, settings.threads, settings.gpu_layers)
    baselines = [_Baseline(path, plan.context_size, plan.n_threads, plan.gpu_layers[0])]
    try:
        with _KvReport() as kv:
            model = LocalModel.from_settings(replace(settings, path=str(path)))
        try:
            if plan.offloaded(plan.gpu_layers[0]) != model.report.n_gpu_layers:
                # The app fell back to fewer GPU layers: the baseline must hold as many.
                baselines.pop().close()
                baselines.append(_Baseline(path, model.n_ctx, model.llama.n_threads,
                                           model.report.n_gpu_layers))
            baselines.append(_Baseline(path, model.n_ctx, model.llama.n_threads,
                                       model.report.n_gpu_layers))
            app = _app_turns(model, follow_ups, tokens, baselines)
            app.update(kv_mb=kv.mib, peak_rss_mb=_peak_rss_mb())
        finally:
            model.close()
        return app, _combined([b.finish() for b in baselines])
    finally:
        for baseline in baselines:
            baseline.close()


def _app_turns(model: LocalModel, follow_ups: int, tokens: int,
               baselines: list[_Baseline]) -> dict[str, Any]:
    """The app's turns, each followed by the same turn in every baseline."""
    with tempfile.TemporaryDirectory(prefix="loremind-bench-") as tmp:
        core, embedder = indexed_core(model, Path(tmp))
        try:
            model.drop_cache()
            run = ChatRun(core, model, embedder, core.chat.new_session())
            greedy = SamplingParams.greedy(tokens)
            ours = []
            for question in QUESTIONS[: 1 + follow_ups]:
                turn, prompt = _app_turn(run, model, question, greedy)
                ours.append(turn)
                _settle(core)  # the answer is stored: nothing of the app runs beside
                for baseline in baselines:
                    baseline.turn(prompt, turn["completion_tokens"], model.llama.n_threads)
        finally:
            core.close()
    return {"turns": ours, "context_size": model.n_ctx, "n_threads": model.llama.n_threads,
            "n_gpu_layers": model.report.n_gpu_layers,
            "gpu_offload": model.report.gpu_offload_supported}


def _combined(processes: list[dict[str, Any]]) -> dict[str, Any]:
    """The baselines as one: each turn's figures are the processes' mean, peak RSS the
    largest; ``processes`` keeps each one's turns."""
    turns = []
    for same in zip(*(p["turns"] for p in processes), strict=True):
        turns.append({key: statistics.fmean(t[key] for t in same) if key in _MEANS else value
                      for key, value in same[0].items()})
    return {"turns": turns, "kv_mb": processes[0]["kv_mb"],
            "peak_rss_mb": max(p["peak_rss_mb"] for p in processes),
            "processes": [p["turns"] for p in processes]}


def _settle(core: Loremind, timeout: float = 60.0) -> None:
    """Wait until the core has no job left (the answer stored, its vector written, upkeep
    done), so that the baseline's turn does not share the cores with the app's tail."""
    deadline = time.monotonic() + timeout
    while core.scheduler.jobs() and time.monotonic() < deadline:
        time.sleep(0.05)


def _app_turn(run: ChatRun, model: LocalModel, question: str,
              greedy: SamplingParams) -> tuple[dict[str, Any], list[int]]:
    """One turn through ``core.chat.ask``: its figures and the prompt's tokens."""
    # The prompt's cost is read at the first token: after the answer, the model also reads
    # the question for memories to propose.
    before = _Perf.read(model.llama.ctx)
    seen: dict[int, _Perf] = {}  # llama.cpp's counters at the first and the latest token

    def counted(n: int) -> None:
        seen[min(n, 2)] = _Perf.read(model.llama.ctx)

    turn = run.ask(question, greedy, on_token=counted)
    spent = seen[1] - before
    decoding = seen[2] - seen[1] if 2 in seen else None
    answer = run.session.messages[-1]
    return {
        "ttft_s": turn.ttft_s,
        "prompt_tokens": turn.stats.prompt_tokens,
        "evaluated_tokens": spent.prompt_tokens,
        "prompt_tokens_per_s": spent.prompt_rate,
        "completion_tokens": turn.stats.completion_tokens,
        "generate_tokens_per_s": _rate(turn.token_times),
        # llama.cpp's own time per generated token (decoding alone, without the app's loop)
        "decode_ms_per_token": decoding.ms_per_token if decoding is not None else 0.0,
        "sources": len(answer.sources),
        "memories": len(answer.memories_used),
    }, run.seen[: turn.stats.prompt_tokens]


class _Baseline:
    """llama-cpp-python alone in a process of its own, one turn at a time."""

    def __init__(self, path: Path, n_ctx: int, threads: int, gpu_layers: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "assistant.bench.raw_llama"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.turns: list[dict[str, Any]] = []
        self.kv_mb = self._ask({"path": str(path), "n_ctx": n_ctx, "n_threads": threads,
                                "n_gpu_layers": gpu_layers})["kv_mb"]

    def turn(self, prompt: list[int], count: int, threads: int) -> None:
        self.turns.append(self._ask({"prompt": prompt, "count": count, "threads": threads}))

    def finish(self) -> dict[str, Any]:
        """The baseline's turns, KV cache and peak RSS, once its last turn is done."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()
        last = json.loads(self._process.stdout.readline() or "{}")
        if "peak_rss_mb" not in last:
            raise RuntimeError(f"the raw llama.cpp run failed: {self._error()}")
        return {"turns": self.turns, "kv_mb": self.kv_mb, "peak_rss_mb": last["peak_rss_mb"]}

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(message) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the raw llama.cpp run failed: {self._error()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _error(self) -> str:
        self._process.wait(30)
        assert self._process.stderr is not None
        return self._process.stderr.read().strip()[-2000:]


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    """The headline figures: the knowledge question's wait and prompt speed, generation over
    every turn, memory."""
    turns = run["turns"]
    first = turns[0]
    return {
        "ttft_knowledge_s": round(first["ttft_s"], 3),
        "knowledge_prompt_tokens": first["prompt_tokens"],
        "prompt_tokens_per_s": round(first["prompt_tokens_per_s"], 2),
        "generate_tokens_per_s": round(_generation(run), 3),
        "follow_up_ttft_s": [round(t["ttft_s"], 3) for t in turns[1:]],
        "peak_rss_mb": round(run["peak_rss_mb"], 1),
        "kv_mb": run["kv_mb"],
    }


def _generation(run: dict[str, Any]) -> float:
    """Generated tokens/s over the run's turns (the median turn)."""
    return statistics.median(t["generate_tokens_per_s"] for t in run["turns"])


def _median_ratio(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> float:
    """The median over turns of one side's generation rate over the other's in the same turn
    (turns side by side in time: the machine's drift over minutes cancels)."""
    return round(statistics.median(a["generate_tokens_per_s"] / b["generate_tokens_per_s"]
                                   for a, b in zip(ours, theirs, strict=True)), 3)


def _turns(app: dict[str, Any], raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn by turn, the app beside the baselines (their mean, and each one's rate)."""
    keys = ("ttft_s", "prompt_tokens", "evaluated_tokens", "prompt_tokens_per_s",
            "completion_tokens", "generate_tokens_per_s", "decode_ms_per_token")
    rows = []
    each = zip(*raw["processes"], strict=True)
    for ours, theirs, alone in zip(app["turns"], raw["turns"], each, strict=True):
        row = {k: _round(ours[k]) for k in (*keys, "sources", "memories")}
        row["raw"] = {k: _round(theirs[k]) for k in keys}
        row["raw"]["generate_tokens_per_s_each"] = [
            _round(turn["generate_tokens_per_s"]) for turn in alone]
        rows.append(row)
    return rows


def _round(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


def _rate(times: list[float]) -> float:
    """Tokens per second after the first token (a piece is one token: no stop strings)."""
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def _peak_rss_mb() -> float:
    return peak_rss_bytes() / 2**20


class _Perf:
    """llama.cpp's own prompt and generation counters at one moment."""

    def __init__(self, prompt_tokens: int, prompt_ms: float, tokens: int, ms: float) -> None:
        self.prompt_tokens, self.prompt_ms = prompt_tokens, prompt_ms
        self.tokens, self.ms = tokens, ms

    @classmethod
    def read(cls, ctx: Any) -> _Perf:
        import llama_cpp

        perf = llama_cpp.llama_perf_context(ctx)
        return cls(int(perf.n_p_eval), float(perf.t_p_eval_ms), int(perf.n_eval),
                   float(perf.t_eval_ms))

    def __sub__(self, other: _Perf) -> _Perf:
        return _Perf(self.prompt_tokens - other.prompt_tokens, self.prompt_ms - other.prompt_ms,
                     self.tokens - other.tokens, self.ms - other.ms)

    @property
    def ms_per_token(self) -> float:
        return self.ms / self.tokens if self.tokens > 0 else 0.0

    @property
    def prompt_rate(self) -> float:
        return self.prompt_tokens / (self.prompt_ms / 1000) if self.prompt_ms > 0 else 0.0


class _KvReport(logging.Handler):
    """While loading: the KV cache size llama.cpp reports (its log, which the engine routes to
    the ``assistant.engine.llama_cpp`` logger at debug level)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.mib = 0.0
        self._logger = logging.getLogger("assistant.engine.llama_cpp")
        self._level = self._logger.level

    def emit(self, record: logging.LogRecord) -> None:
        found = KV_LINE.search(record.getMessage())
        if found:
            self.mib += float(found.group(1))

    def __enter__(self) -> _KvReport:
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)
