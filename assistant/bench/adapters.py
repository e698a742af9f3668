"""``loremind bench adapters``: what a user waits for when going from one chat to another that
uses other adapters, against what they would do without Loremind (reload the model with the
adapter and let it read the chat again).

Two chats of about ``chat_tokens`` tokens each use a different rank-16 adapter on the attention
and MLP weights (random weights of the model's shapes, so the benchmark needs nothing but the
model file). Every answer goes through the core's ``chat.ask``; times run from the call to the first
token. All figures come from the same run, model and adapter files.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import llama_cpp

from assistant.bench.documents import DOCUMENTS
from assistant.bench.engine import ChatRun, Turn
from assistant.bench.synthetic import write_lora
from assistant.chat.conversations import ChatMessage, ChatSession
from assistant.config import Settings
from assistant.core import Loremind
from assistant.defaults import embedded_chat_model
from assistant.engine.chat_template import Message
from assistant.engine.model import LocalModel, SamplingParams
from assistant.paths import AppPaths

CONTEXT = 4096
RANK = 16
TARGETS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
REPLY_TOKENS = 24
RATE_TOKENS = 64
SWITCHES = 3
QUESTIONS = ("What did I tell you first?", "Summarise the last note in one sentence.",
             "Which note was the longest?", "Name one thing from the notes.")


def run_adapter_bench(model_path: Path | None = None, threads: int = 0,
                      chat_tokens: int = 1500) -> dict[str, Any]:
    """Time to first token after switching chats (saved state vs none vs a model reload)."""
    path = Path(model_path) if model_path else embedded_chat_model()
    with tempfile.TemporaryDirectory(prefix="loremind-bench-") as tmp:
        root = Path(tmp)
        paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
        paths.adapters_dir.mkdir(parents=True)
        model = LocalModel.load(path, context_size=CONTEXT, threads=threads)
        # Fixed threads: another count changes the last bits of the logits, and the restored
        # and the full reading are compared token for token.
        model.thread_policy = None
        try:
            files = [write_lora(paths.adapters_dir / f"style-{n}.gguf", model.info,
                                targets=TARGETS, rank=RANK, alpha=RANK, strength=0.3, seed=n)
                     for n in (1, 2)]
            core = Loremind.open(paths, Settings(), model=model)
            try:
                return _measure(core, model, files, chat_tokens)
            finally:
                core.close()
        finally:
            model.close()


def _measure(core: Loremind, model: LocalModel, files: list[Path],
             chat_tokens: int) -> dict[str, Any]:
    greedy = SamplingParams.greedy(REPLY_TOKENS)
    chats = []
    for n, file in enumerate(files):
        session = _long_chat(model, chat_tokens, offset=n)
        core.adapters.set_for_chat(session, [(file.stem, 1.0)])
        chats.append(ChatRun(core, model, None, session, use_knowledge=False))
    first, second = chats
    primed = first.ask(QUESTIONS[0], greedy)  # the user has been in the first chat
    first_switch = second.ask(QUESTIONS[0], greedy)  # no saved state for the second chat yet
    switch_back: list[Turn] = []
    for n in range(SWITCHES):
        switch_back.append(first.ask(QUESTIONS[1 + n % 3], greedy))
        if n < SWITCHES - 1:
            second.ask(QUESTIONS[1 + n % 3], greedy)
    last = switch_back[-1]
    prompt = first.seen[: last.stats.prompt_tokens]
    reload_s, reload_text = _reload_first_token(model, files[0], prompt)
    model.drop_cache()
    full = first.ask("", greedy, regenerate=True)
    with_adapter, without = _generation_rates(core, model, files[0])
    switch_s = statistics.median(t.ttft_s for t in switch_back)
    return {
        "model": str(model.path),
        "chat_tokens": [primed.stats.prompt_tokens, first_switch.stats.prompt_tokens],
        "adapter_rank": RANK,
        "adapter_targets": list(TARGETS),
        "adapter_bytes": files[0].stat().st_size,
        "switch_back_first_token_s": round(switch_s, 4),
        "switch_back_evaluated_tokens": [t.stats.evaluated_tokens for t in switch_back],
        "first_switch_first_token_s": round(first_switch.ttft_s, 4),
        "first_switch_evaluated_tokens": first_switch.stats.evaluated_tokens,
        "reload_first_token_s": round(reload_s, 4),
        "switch_back_vs_reload": round(switch_s / reload_s, 4),
        "restored_answer_equals_full_reading": full.text == last.text,
        "reload_answer_equals_restored": reload_text == last.text,
        "tokens_per_s_with_adapter": round(with_adapter, 2),
        "tokens_per_s_without_adapter": round(without, 2),
        "saved_states_mb": round(model.chat_states.used_bytes / 2**20, 1),
    }


def _long_chat(model: LocalModel, tokens: int, offset: int) -> ChatSession:
    """A temporary chat whose history (notes the user pasted) takes about ``tokens`` tokens."""
    session = ChatSession(temporary=True, title=f"chat {offset + 1}")
    texts = list(DOCUMENTS.values())
    n = offset
    while True:
        note = texts[n % len(texts)]
        session.messages += [ChatMessage("user", f"Keep this note for later:\n\n{note}"),
                             ChatMessage("assistant", "Noted.")]
        n += 2
        messages: list[Message] = [{"role": m.role, "content": m.text}
                                   for m in session.messages]
        if model.count_tokens(messages) >= tokens:
            return session


def _reload_first_token(model: LocalModel, adapter: Path, prompt: list[int]
                        ) -> tuple[float, str]:
    """Seconds from loading the model with the adapter (llama-cpp-python's own route) to the
    first token of the same turn, and the greedy answer."""
    started = time.perf_counter()
    llama = llama_cpp.Llama(model_path=str(model.path), lora_path=str(adapter), n_ctx=CONTEXT,
                            n_threads=model.llama.n_threads,
                            n_threads_batch=model.llama.n_threads,
                            n_gpu_layers=model.report.n_gpu_layers, verbose=False)
    try:
        first_token_s = 0.0
        tokens: list[int] = []
        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        for token in llama.generate(prompt, temp=0.0, top_k=1, top_p=1.0, min_p=0.0,
                                    repeat_penalty=1.0):
            if not tokens and not first_token_s:
                first_token_s = time.perf_counter() - started
            if llama_cpp.llama_vocab_is_eog(vocab, token) or len(tokens) >= REPLY_TOKENS:
                break
            tokens.append(token)
        text = llama.detokenize(tokens).decode("utf-8", errors="replace").strip()
        return first_token_s, text
    finally:
        llama.close()


def _generation_rates(core: Loremind, model: LocalModel, adapter: Path
                      ) -> tuple[float, float]:
    """Generation tokens/s with the adapter on and with none, best of two each (the raw
    measurement drives the core's adapter library itself)."""
    library = core.parts.adapters
    (info,) = [i for i in library.catalog.adapters if i.path == adapter]
    prompt = model.prompt_tokens([{"role": "user", "content": "Tell me a long story."}])
    rates: dict[bool, float] = {True: 0.0, False: 0.0}
    for _ in range(2):
        for on in (True, False):
            library.apply([(info, 1.0)] if on else [])
            model.drop_cache()
            stamps = []
            for _piece in model.stream_tokens(prompt, SamplingParams.greedy(RATE_TOKENS)):
                stamps.append(time.perf_counter())
            if len(stamps) > 1:
                rates[on] = max(rates[on], (len(stamps) - 1) / (stamps[-1] - stamps[0]))
    library.apply([])
    return rates[True], rates[False]
