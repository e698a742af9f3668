"""``loremind bench engine``: a chat through the core's ``chat.ask`` (the GUI's and ``loremind
ask``'s entry point) with an indexed folder and memories, against raw llama-cpp-python, in one
run.

Prompt costs are llama.cpp's own counters (``llama_perf_context``), read by the engine around
each prompt, not Loremind's prediction of what the cache will reuse; ``turn_new_tokens`` is the
part of each prompt the model has not read or written before. Every figure comes from the same
loaded model, so the comparison holds on any machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llama_cpp

from assistant.bench.documents import MEMORIES, QUESTIONS, write_documents
from assistant.chat.answering import AskOptions
from assistant.chat.conversations import ChatSession
from assistant.chat.events import AnswerStats, Done, Event, Failed, Token
from assistant.config import Settings
from assistant.core import Loremind
from assistant.engine.model import LocalModel, SamplingParams, common_prefix
from assistant.engine.threads import ThreadPolicy
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.indexer import Indexer
from assistant.migrations import open_database
from assistant.paths import AppPaths

CONTEXT = 4096
GENERATION_TOKENS = 96
REPEATS = 3
CHAT_TURNS = 4
TURN_REPLY_TOKENS = 48
OVERFLOW_TURNS = 4  # turns measured after the chat first sheds history
OVERFLOW_MAX_TURNS = 16
STORY_PROMPT = "Tell me a long story about a lighthouse keeper who finds a message in a bottle."


@dataclass
class Turn:
    """One answer as the user saw it, and what llama.cpp evaluated for it."""

    ttft_s: float
    stats: AnswerStats
    new_tokens: int
    text: str
    token_times: list[float] = field(default_factory=list, repr=False)
    question_embeddings: int = 0  # times the embedder itself embedded the question this turn


class ChatRun:
    """A chat driven through the core's ``chat.ask``, tracking the tokens the model has seen."""

    def __init__(self, core: Loremind, model: LocalModel, embedder: Embedder | None,
                 session: ChatSession, use_knowledge: bool = True) -> None:
        self.core = core
        self.model = model
        self.embedder = embedder
        self.session = session
        self.use_knowledge = use_knowledge
        self.seen: list[int] = []  # what the model has read or written in this chat so far

    def ask(self, text: str, sampling: SamplingParams, regenerate: bool = False,
            on_token: Callable[[int], None] | None = None) -> Turn:
        """One turn, timed from the call (retrieval and prompt assembly included);
        ``on_token(n)`` runs as the n-th token arrives."""
        options = AskOptions(sampling=sampling, use_knowledge=self.use_knowledge)
        question = text or next(m.text for m in reversed(self.session.messages)
                                if m.role == "user")
        embedded_before = self._times_embedded(question)
        started = time.perf_counter()
        events: Iterator[Event] = (self.core.chat.regenerate(self.session, options)
                                   if regenerate
                                   else self.core.chat.ask(self.session, text, options))
        times: list[float] = []
        done: Done | None = None
        for event in events:
            if isinstance(event, Token):
                times.append(time.perf_counter())
                if on_token is not None:
                    on_token(len(times))
            elif isinstance(event, Failed):
                raise RuntimeError(f"the answer failed: {event.message}")
            elif isinstance(event, Done):
                done = event
        if done is None or not times:
            raise RuntimeError("the answer produced no text")
        prompt, completion = self._last_tokens(done.stats)
        new = new_tokens(prompt, self.seen)
        self.seen = prompt + completion
        embedded = self._times_embedded(question) - embedded_before
        return Turn(times[0] - started, done.stats, new, done.text, times, embedded)

    def _times_embedded(self, text: str) -> int:
        return 0 if self.embedder is None else self.embedder.times_embedded(text)

    def _last_tokens(self, stats: AnswerStats) -> tuple[list[int], list[int]]:
        """The prompt and completion of the answer just given, as the model holds them."""
        llama = self.model.llama
        held = llama.input_ids[: llama.n_tokens].tolist()
        return held[: stats.prompt_tokens], held[stats.prompt_tokens:]


def new_tokens(prompt: list[int], seen: list[int], run: int = 16) -> int:
    """How many tokens of ``prompt`` the model has not read or written in this chat: after the
    prefix shared with ``seen``, a run of at least ``run`` tokens found again further on in
    ``seen`` (the history kept when older turns were dropped) is not new either."""
    start = common_prefix(prompt, seen)
    rest = prompt[start:]
    kept = 0
    if len(rest) >= run:
        for index in range(start + 1, len(seen) - run + 1):
            if seen[index:index + run] == rest[:run]:
                kept = max(kept, common_prefix(seen[index:], rest))
    return len(rest) - kept


def run_engine_bench(model_path: Path | None, threads: int = 0, contend: int = 0
                     ) -> dict[str, Any]:
    """All figures for one run; ``contend`` > 0 also measures generation beside that many busy
    processes, with each thread count."""
    model = LocalModel.load(model_path, context_size=CONTEXT, threads=threads)
    try:
        with tempfile.TemporaryDirectory(prefix="loremind-bench-") as tmp:
            core, embedder = indexed_core(model, Path(tmp))
            try:
                result = {"model": str(model.path), "n_gpu_layers": model.report.n_gpu_layers,
                          "n_threads": model.llama.n_threads, "cpu_count": os.cpu_count(),
                          "context_size": model.n_ctx}
                result.update(_generation_rates(core, model, embedder))
                result["prompt_tokens_per_s"] = round(_prompt_rate(model), 1)
                chat, run = _chat(core, model, embedder)
                result.update(chat)
                result["overflow"] = _overflow(run)
                if contend:
                    result["contention"] = _contention(model, contend)
            finally:
                core.close()
        return result
    finally:
        model.close()


def indexed_core(model: LocalModel, root: Path) -> tuple[Loremind, Embedder]:
    """A core on a fresh data folder with the documents indexed and a few memories."""
    paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
    store = open_database(paths)
    embedder = Embedder()
    folder = root / "documents"
    write_documents(folder)
    Indexer(store, embedder).sync(folder)
    store.maintain()
    settings = Settings()
    settings.knowledge.folders = [str(folder)]
    core = Loremind.open(paths, settings, model=model, embedder=embedder,
                         store=store)
    for text in MEMORIES:
        core.memory.remember(text)
    return core, embedder


def _generation_rates(core: Loremind, model: LocalModel, embedder: Embedder) -> dict[str, Any]:
    """Tokens/s after the first token: through the core's ``chat.ask`` and straight from
    ``Llama.generate`` on the very prompt the app sent, interleaved, best of each."""
    greedy = SamplingParams.greedy(GENERATION_TOKENS)
    app_rates, raw_rates = [], []
    for _ in range(REPEATS):
        model.drop_cache()
        run = ChatRun(core, model, embedder, core.chat.new_session(temporary=True))
        turn = run.ask(STORY_PROMPT, greedy)
        prompt = run.seen[: turn.stats.prompt_tokens]
        app_rates.append(_rate(turn.token_times, turn.stats.completion_tokens))
        raw_rates.append(_raw_generation_rate(model, prompt))
    app, raw = max(app_rates), max(raw_rates)
    return {"app_tokens_per_s": round(app, 2), "raw_tokens_per_s": round(raw, 2),
            "ratio": round(app / raw, 4)}


def _rate(times: list[float], tokens: int) -> float:
    # A piece is one token here (no stop strings; a split UTF-8 character would merge two).
    return (min(tokens, len(times)) - 1) / (times[-1] - times[0])


def _raw_generation_rate(model: LocalModel, prompt: list[int],
                         tokens: int = GENERATION_TOKENS) -> float:
    """Greedy tokens/s straight from ``Llama.generate`` after the first token."""
    llama = model.llama
    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    with model.lock:
        llama.reset()
        stamps: list[float] = []
        for token in llama.generate(prompt, temp=0.0, top_k=1, top_p=1.0, min_p=0.0,
                                    repeat_penalty=1.0):
            stamps.append(time.perf_counter())
            if llama_cpp.llama_vocab_is_eog(vocab, token) or len(stamps) >= tokens:
                break
        model.drop_cache()
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def _prompt_rate(model: LocalModel) -> float:
    """Prompt-processing tokens/s on a ~400-token prompt (at most half the context) from an
    empty cache."""
    text = " ".join(QUESTIONS * 3)
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


def _chat(core: Loremind, model: LocalModel,
          embedder: Embedder) -> tuple[dict[str, Any], ChatRun]:
    """A stored chat with sources and memories: per turn, what was new and what llama.cpp
    evaluated; then the last turn again after dropping the cache (cold). Returns the figures
    and the chat, which the overflow part continues."""
    model.drop_cache()
    run = ChatRun(core, model, embedder, core.chat.new_session())
    greedy = SamplingParams.greedy(TURN_REPLY_TOKENS)
    turns = [run.ask(text, greedy) for text in QUESTIONS[:CHAT_TURNS]]
    model.drop_cache()
    cold = run.ask("", greedy, regenerate=True)
    answers = [m for m in run.session.messages if m.role == "assistant"]
    return {
        "ttft_s": [round(t.ttft_s, 4) for t in turns],
        "cold_ttft_s": round(cold.ttft_s, 4),
        "cold_evaluated_tokens": cold.stats.evaluated_tokens,
        "turn_new_tokens": [t.new_tokens for t in turns],
        "turn_evaluated_tokens": [t.stats.evaluated_tokens for t in turns],
        "turn_prompt_tokens": [t.stats.prompt_tokens for t in turns],
        "turn_sources": [len(m.sources) for m in answers],
        "turn_memories": [len(m.memories_used) for m in answers],
        # Counted by the embedder itself: memory choice, the document search and the stored
        # question all use the one vector.
        "question_embeddings_per_turn": [t.question_embeddings for t in turns],
    }, run


def _overflow(run: ChatRun) -> dict[str, Any]:
    """The chat goes on past the context size: turns after it first sheds history."""
    greedy = SamplingParams.greedy(TURN_REPLY_TOKENS)
    measured: list[Turn] = []
    asked = 0
    while len(measured) < OVERFLOW_TURNS and asked < OVERFLOW_MAX_TURNS:
        turn = run.ask(QUESTIONS[(CHAT_TURNS + asked) % len(QUESTIONS)], greedy)
        asked += 1
        if turn.stats.dropped_turns or measured:
            measured.append(turn)
    new = [t.new_tokens for t in measured]
    evaluated = [t.stats.evaluated_tokens for t in measured]
    return {
        "turns_before_overflow": CHAT_TURNS + asked - len(measured),
        "turn_new_tokens": new,
        "turn_evaluated_tokens": evaluated,
        "turn_prompt_tokens": [t.stats.prompt_tokens for t in measured],
        "dropped_turns": [t.stats.dropped_turns for t in measured],
        "ttft_s": [round(t.ttft_s, 4) for t in measured],
        "mean_evaluated_over_new": round(statistics.mean(evaluated) / max(1, statistics.mean(new)),
                                         3) if measured else None,
    }


def _contention(model: LocalModel, busy: int) -> dict[str, Any]:
    """Generation tokens/s beside ``busy`` spinning processes, with the current thread count and
    every other one up to the core count (set on the loaded context, nothing reloaded)."""
    prompt = model.prompt_tokens([{"role": "user", "content": STORY_PROMPT}])
    current = model.llama.n_threads
    counts = sorted({current, *range(1, (os.cpu_count() or 1) + 1)})
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(busy)]
    rates: dict[int, float] = {}
    try:
        time.sleep(0.5)
        chosen = ThreadPolicy().choose()  # what automatic threads pick beside the spinners
        for _ in range(REPEATS):
            for n in counts:
                llama_cpp.llama_set_n_threads(model.llama.ctx, n, n)
                rate = _raw_generation_rate(model, prompt, 48)
                rates[n] = max(rates.get(n, 0.0), rate)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
        llama_cpp.llama_set_n_threads(model.llama.ctx, current, current)
    best = max(rates, key=lambda n: rates[n])
    return {
        "busy_processes": busy,
        "policy": f"automatic: chose n_threads={chosen}" if model.thread_policy else
                  f"n_threads={current}",
        "tokens_per_s": round(rates[chosen if model.thread_policy else current], 2),
        "fixed_all_cores_tokens_per_s": round(rates[max(counts)], 2),
        "best": f"n_threads={best}",
        "best_tokens_per_s": round(rates[best], 2),
        "by_threads": {str(n): round(r, 2) for n, r in rates.items()},
    }
