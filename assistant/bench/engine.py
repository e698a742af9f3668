"""``loremind bench engine``: Loremind's streaming path against raw llama-cpp-python, in one run.

Every figure is measured on the same loaded model, so the comparison holds on any machine.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import llama_cpp

from assistant.engine.chat_template import Message
from assistant.engine.model import LocalModel, SamplingParams, common_prefix

GENERATION_TOKENS = 96
REPEATS = 3
TURN_REPLY_TOKENS = 32
STORY_PROMPT = "Tell me a long story about a lighthouse keeper who finds a message in a bottle."
TURN_MESSAGES = [
    "I am planning a trip to Portugal in May. Which three cities should I visit first?",
    "I like old towns, seafood and walking. Which of those cities suits me the best?",
    "How many days should I stay there, and what should I pack for the May weather?",
    "Can you suggest one day trip from there by train, with a rough cost in euros?",
]


def run_engine_bench(model_path: Path | None, threads: int = 0) -> dict[str, Any]:
    """Measure raw and app generation speed, prompt speed, and KV-cache reuse across turns."""
    model = LocalModel.load(model_path, context_size=2048, threads=threads)
    try:
        messages: list[Message] = [{"role": "user", "content": STORY_PROMPT}]
        prompt = model.prompt_tokens(messages)
        raw_rates, app_rates = [], []
        for _ in range(REPEATS):  # interleaved, best of each, so load spikes hit both alike
            raw_rates.append(_raw_generation_rate(model, prompt))
            app_rates.append(_app_generation_rate(model, prompt))
        raw, app = max(raw_rates), max(app_rates)
        turns = _conversation(model)
        return {
            "model": str(model.path),
            "n_gpu_layers": model.report.n_gpu_layers,
            "raw_tokens_per_s": round(raw, 2),
            "app_tokens_per_s": round(app, 2),
            "ratio": round(app / raw, 4),
            "prompt_tokens_per_s": round(_prompt_rate(model), 1),
            "ttft_s": [round(t["ttft_s"], 4) for t in turns],
            "turn_new_tokens": [t["new"] for t in turns],
            "turn_evaluated_tokens": [t["evaluated"] for t in turns],
            "turn_prompt_tokens": [t["prompt"] for t in turns],
        }
    finally:
        model.close()


def _raw_generation_rate(model: LocalModel, prompt: list[int]) -> float:
    """Greedy tokens/s straight from ``Llama.generate`` after the first token."""
    llama = model.llama
    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    llama.reset()
    stamps: list[float] = []
    for token in llama.generate(prompt, temp=0.0, top_k=1, top_p=1.0, min_p=0.0,
                                repeat_penalty=1.0):
        stamps.append(time.perf_counter())
        if llama_cpp.llama_vocab_is_eog(vocab, token) or len(stamps) >= GENERATION_TOKENS:
            break
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def _app_generation_rate(model: LocalModel, prompt: list[int]) -> float:
    """Greedy tokens/s through ``LocalModel.stream_tokens``, timed the same way."""
    model.drop_cache()
    stamps: list[float] = []
    stream = model.stream_tokens(prompt, SamplingParams.greedy(GENERATION_TOKENS))
    for _ in stream:
        stamps.append(time.perf_counter())
    # Every token yields one piece here (no stop strings, ASCII text), so stamps match tokens.
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def _prompt_rate(model: LocalModel) -> float:
    """Prompt-processing tokens/s on a ~400-token prompt (at most half the context) from an
    empty cache."""
    text = " ".join(TURN_MESSAGES * 6)
    tokens = model.prompt_tokens([{"role": "user", "content": text}])[: model.n_ctx // 2]
    rates = []
    for _ in range(REPEATS):
        model.drop_cache()
        started = time.perf_counter()
        with model.lock:
            model.llama.eval(tokens)
        rates.append(len(tokens) / (time.perf_counter() - started))
    model.drop_cache()
    return statistics.median(rates)


def _conversation(model: LocalModel) -> list[dict[str, Any]]:
    """Four similar turns: per turn, the prompt tokens not seen before and those evaluated."""
    model.drop_cache()
    history: list[Message] = []
    seen: list[int] = []  # what the model has read or written so far
    turns = []
    for text in TURN_MESSAGES:
        history.append({"role": "user", "content": text})
        prompt = model.prompt_tokens(history)
        stream = model.stream_tokens(prompt, SamplingParams.greedy(TURN_REPLY_TOKENS))
        reply = stream.read()
        turns.append({
            "prompt": len(prompt),
            "new": len(prompt) - common_prefix(prompt, seen),
            "evaluated": stream.stats.evaluated_tokens,
            "ttft_s": stream.stats.ttft_s,
        })
        seen = prompt + stream.stats.completion_ids
        history.append({"role": "assistant", "content": reply})
    return turns

