"""``loremind bench lookup``: does prompt-lookup decoding make answers from sources faster?

An answer from documents often repeats their words, and prompt-lookup decoding
(llama-cpp-python's ``LlamaPromptLookupDecoding``) guesses the next tokens by finding the last
few generated ones in the prompt and proposing what followed them there; the model checks a
guess in one batch instead of one token at a time. The price: the model must keep the logits of
every token it evaluates (``logits_all``), the prompt's included.

The prompts are the app's: the engine benchmark's documents indexed in a temporary store, each
question's sources chosen as the chat chooses them (:func:`choose_sources`, all passages read)
and the prompt planned by :func:`plan_prompt`; half the questions ask outright for a quote.
Each prompt is answered greedily by the embedded model loaded as the app loads it and by the same
file with the lookup draft, in turns, nothing cached; speeds come from the engine's own counters
and clocks (``GenerationStats``), and the two answers' tokens are compared.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

from assistant.bench.documents import QUESTIONS, write_documents
from assistant.chat.answering import AskOptions
from assistant.chat.prompt import plan_prompt
from assistant.chat.sources import choose_sources
from assistant.config import Settings
from assistant.defaults import embedded_chat_model
from assistant.engine import Message
from assistant.engine.gguf_file import validate_model_file
from assistant.engine.model import LoadReport, LocalModel, SamplingParams
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.indexer import Indexer
from assistant.migrations import open_database

ANSWER_TOKENS = 200
DRAFT_TOKENS = (10,)  # llama-cpp-python's default guess length (it suggests 2 on a GPU)
ROUNDS = 2  # each prompt answered this many times by each model, in turns
QUOTE = "Quote the sentences of my documents that answer this, word for word: "


@dataclass
class Answer:
    """One greedy answer: its tokens, how long it took, and how long before its first token."""

    ids: list[int]
    seconds: float
    ttft_s: float


def answer(model: LocalModel, messages: Sequence[Message], max_tokens: int) -> Answer:
    """``model``'s greedy answer to ``messages``, its prompt read whole (nothing cached)."""
    model.drop_cache()
    stream = model.stream_chat(messages, SamplingParams.greedy(max_tokens))
    stream.read()
    return Answer(list(stream.stats.completion_ids), stream.stats.seconds, stream.stats.ttft_s)


def figures(answers: Sequence[Answer]) -> dict[str, float]:
    """Tokens per second from the call (prompt included) and after the first token."""
    tokens = sum(len(a.ids) for a in answers)
    seconds = sum(a.seconds for a in answers)
    decoding = seconds - sum(a.ttft_s for a in answers)
    return {"tokens_per_s": round(tokens / seconds, 1),
            "decode_tokens_per_s": round(tokens / decoding, 1) if decoding > 0 else 0.0,
            "ttft_p50_s": round(statistics.median(a.ttft_s for a in answers), 3),
            "completion_tokens": tokens}


def app_prompts(root: Path, embedder: Embedder, model: LocalModel,
                questions: Sequence[str]) -> list[list[Message]]:
    """The chat's prompt for each question over the benchmark documents, in a new chat."""
    folder = root / "documents"
    write_documents(folder)
    store = open_database(root / "db", embedder.dim)
    try:
        Indexer(store, embedder).sync(folder)
        settings = Settings()
        k = AskOptions().knowledge_k
        prompts = []
        for question in questions:
            citations = choose_sources(store, embedder, model, question, k)
            plan = plan_prompt(model, settings.generation.system_prompt, [], citations, [],
                               question, reserve=min(settings.generation.max_tokens, 1024))
            prompts.append(plan.messages)
        return prompts
    finally:
        store.close()


def with_lookup(path: Path, like: LocalModel, draft_tokens: int) -> LocalModel:
    """The model file loaded as ``like`` was (context, threads, CPU), with the lookup draft."""
    llama = llama_cpp.Llama(
        model_path=str(path), n_ctx=like.n_ctx, n_threads=like.llama.n_threads,
        n_threads_batch=like.llama.n_threads_batch, n_gpu_layers=0, verbose=False,
        # The draft makes llama-cpp-python keep every token's logits, but it sizes their
        # array for one batch unless told: a prompt longer than a batch would overflow it.
        logits_all=True, draft_model=LlamaPromptLookupDecoding(num_pred_tokens=draft_tokens))
    return LocalModel(llama, validate_model_file(path), LoadReport(False, 0, ()))


def run_lookup_bench(model_path: Path | None = None, questions: Sequence[str] = QUESTIONS,
                     draft_tokens: Sequence[int] = DRAFT_TOKENS, rounds: int = ROUNDS,
                     max_tokens: int = ANSWER_TOKENS, threads: int = 0) -> dict[str, Any]:
    """Greedy answers with and without prompt-lookup decoding: speeds, and whether the
    tokens are the same (``identical``: the share of answers equal token for token)."""
    path = model_path or embedded_chat_model()
    # A fixed thread count for both, so that neither gets fewer threads than the other.
    cores = threads or os.cpu_count() or 1
    settings = Settings().model
    plain = LocalModel.load(path, context_size=settings.context_size, threads=cores,
                            gpu_layers=0)
    try:
        with tempfile.TemporaryDirectory(prefix="loremind-lookup-") as tmp:
            asked = [*questions, *(QUOTE + q for q in questions)]
            prompts = app_prompts(Path(tmp), Embedder(), plain, asked)
        models = {"plain": plain, **{f"lookup{n}": with_lookup(path, plain, n)
                                     for n in draft_tokens}}
        try:
            answers = _answer_in_turns(models, prompts, rounds, max_tokens)
        finally:
            for name, model in models.items():
                if name != "plain":
                    model.close()
        result: dict[str, Any] = {"model": plain.display_name, "prompts": len(prompts),
                                  "rounds": rounds, "max_tokens": max_tokens, "threads": cores}
        # The second half of the prompts asks for a quote.
        quoting = [i % len(prompts) >= len(questions) for i in range(len(answers["plain"]))]
        result.update(compare(answers, quoting))
        result["load_average"] = round(os.getloadavg()[0], 2)
        return result
    finally:
        plain.close()


def compare(answers: dict[str, list[Answer]], quoting: Sequence[bool]) -> dict[str, Any]:
    """Each model's figures; for each lookup model, its speed against the plain model's (all
    answers, and those asked to quote) and the share of its answers equal token for token."""
    plain = answers["plain"]
    result = {f"plain_{k}": v for k, v in figures(plain).items()}
    for name, given in answers.items():
        if name == "plain":
            continue
        result.update({f"{name}_{k}": v for k, v in figures(given).items()})
        quoted = [a for a, q in zip(given, quoting, strict=True) if q]
        plain_quoted = [a for a, q in zip(plain, quoting, strict=True) if q]
        result[f"{name}_speedup"] = _ratio(given, plain)
        result[f"{name}_quoting_speedup"] = _ratio(quoted, plain_quoted)
        result[f"{name}_identical"] = round(
            sum(a.ids == b.ids for a, b in zip(given, plain, strict=True)) / len(given), 3)
    return result


def _ratio(answers: Sequence[Answer], baseline: Sequence[Answer]) -> float:
    base = figures(baseline)["tokens_per_s"]
    return round(figures(answers)["tokens_per_s"] / base, 3) if base else 0.0


def _answer_in_turns(models: dict[str, LocalModel], prompts: Sequence[list[Message]],
                     rounds: int, max_tokens: int) -> dict[str, list[Answer]]:
    """Every model's answers, prompt by prompt in turns, so that a change in the machine's
    load falls on all of them alike."""
    answers: dict[str, list[Answer]] = {name: [] for name in models}
    for _round in range(rounds):
        for messages in prompts:
            for name, model in models.items():
                answers[name].append(answer(model, messages, max_tokens))
    return answers
