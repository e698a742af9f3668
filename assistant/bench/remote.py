"""``loremind bench engine --engine URL``: Loremind's remote engine against the server's own raw
completion endpoint, in one run, on the same server and prompt.

The baseline is a bare HTTP loop that streams ``/v1/completions`` with the chat already rendered
into prompt text (by the local copy of the model when the settings name one, else by the server's
``/apply-template``); where neither can render it, the baseline streams ``/v1/chat/completions``
with the identical request instead. Both sides run greedy over one keep-alive connection each,
interleaved, best of five, so a load spike hits both alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2

from assistant.config import RemoteSettings
from assistant.engine.chat_template import Message
from assistant.engine.model import SamplingParams
from assistant.engine.remote import RemoteModel

GENERATION_TOKENS = 96
REPEATS = 5
STORY: list[Message] = [{"role": "user", "content": "Tell me a long story about a lighthouse "
                                                    "keeper who finds a message in a bottle."}]


def run_remote_engine_bench(settings: RemoteSettings) -> dict[str, Any]:
    """Tokens/s and time to first token through RemoteModel and through the raw endpoint."""
    model = RemoteModel.connect(settings)
    try:
        prompt = _rendered_prompt(model, settings)
        endpoint = "/v1/completions" if prompt is not None else "/v1/chat/completions"
        raw_body = _raw_body(model, prompt)
        _app_run(model)  # warm-up: token counting learns the template cost once
        raw_runs, app_runs = [], []
        # One keep-alive connection for the baseline too, as RemoteModel keeps its own.
        with httpx2.Client(base_url=model.client.root, timeout=120) as raw_client:
            for _ in range(REPEATS):
                raw_runs.append(_raw_run(raw_client, endpoint, raw_body))
                app_runs.append(_app_run(model))
        raw_rate = max(r["tokens_per_s"] for r in raw_runs)
        app_rate = max(r["tokens_per_s"] for r in app_runs)
        raw_ttft = min(r["ttft_s"] for r in raw_runs)
        app_ttft = min(r["ttft_s"] for r in app_runs)
        return {
            "engine": model.engine_label,
            "model": model.model,
            "baseline_endpoint": endpoint,
            "raw_tokens_per_s": round(raw_rate, 2),
            "app_tokens_per_s": round(app_rate, 2),
            "ratio": round(app_rate / raw_rate, 4),
            "raw_ttft_s": round(raw_ttft, 4),
            "app_ttft_s": round(app_ttft, 4),
            "ttft_ratio": round(raw_ttft / app_ttft, 4) if app_ttft else 0.0,
            "tokens": min(r["tokens"] for r in raw_runs + app_runs),
            "token_counting": model.counter.method,
        }
    finally:
        model.close()


def _rendered_prompt(model: RemoteModel, settings: RemoteSettings) -> str | None:
    """The chat as the prompt text the server's template makes of it, when it can be known."""
    if settings.local_copy:
        from assistant.engine.chat_template import ChatTemplate
        from assistant.engine.gguf_file import validate_model_file

        info = validate_model_file(Path(settings.local_copy).expanduser())
        return ChatTemplate(info.chat_template).render(STORY, True)
    rendered = model.client.post_json("/apply-template", {"messages": STORY}, missing_ok=True)
    return str(rendered["prompt"]) if isinstance(rendered, dict) and "prompt" in rendered \
        else None


def _raw_body(model: RemoteModel, prompt: str | None) -> dict[str, Any]:
    params = SamplingParams.greedy(GENERATION_TOKENS)
    body = model._body(STORY, params, GENERATION_TOKENS, ())
    if prompt is not None:
        del body["messages"]
        body["prompt"] = prompt
    body["stream"] = True
    return body


def _raw_run(client: httpx2.Client, endpoint: str, body: dict[str, Any]) -> dict[str, float]:
    """A bare streaming loop: one timestamp per chunk that carries text."""
    started = time.perf_counter()
    stamps: list[float] = []
    with client.stream("POST", endpoint, json=body) as response:
        response.raise_for_status()
        for text in _texts(response.iter_lines()):
            if text:
                stamps.append(time.perf_counter())
    return _figures(started, stamps)


def _app_run(model: RemoteModel) -> dict[str, float]:
    """The same request through RemoteModel.stream_chat, timed from before the call."""
    started = time.perf_counter()
    stamps = [time.perf_counter() for _ in
              model.stream_chat(STORY, SamplingParams.greedy(GENERATION_TOKENS))]
    return _figures(started, stamps)


def _texts(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if not line.startswith("data:") or line.endswith("[DONE]"):
            continue
        for choice in json.loads(line[5:]).get("choices") or []:
            yield choice.get("text") or (choice.get("delta") or {}).get("content") or ""


def _figures(started: float, stamps: list[float]) -> dict[str, float]:
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return {"tokens": len(stamps), "tokens_per_s": rate,
            "ttft_s": stamps[0] - started if stamps else 0.0}
