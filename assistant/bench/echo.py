"""``loremind bench echo``: how often an answer repeats the prompt's own instructions.

A small model sometimes answers with the words that frame its prompt ("Numbered sources from
the user's documents follow…") instead of with an answer. This asks the engine benchmark's
questions (over its documents, with its memories: sources and memories in the prompt, as a
user's are) plus general ones, each in a new stored chat through the core's ``chat.ask``, and
counts the answers that contain any four-word run of the instructions the prompt carries (the
system prompt and the headers around sources and memories), case and spacing ignored. Each
question is answered ``SAMPLES`` times with the app's own sampling settings: an echo is rare.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from assistant.bench.documents import MEMORIES, QUESTIONS, write_documents
from assistant.chat.answering import AskOptions
from assistant.chat.events import Done, Failed
from assistant.chat.prompt import instruction_texts
from assistant.config import Settings
from assistant.core import Loremind
from assistant.engine.model import SamplingParams
from assistant.paths import AppPaths

RUN = 4  # words in a row that make an echo ("cite them like 1")
ANSWER_TOKENS = 160
SAMPLES = 3  # answers per question, sampled as the app samples (its temperature)
GENERAL = ("What is the capital of Australia?", "Write a haiku about autumn rain.",
           "How do I boil an egg?", "Explain what a prime number is.",
           "What time is it in Tokyo?", "Give me three tips for sleeping better.")


def run_echo_bench(model_path: Path | None = None) -> dict[str, Any]:
    """Answers that repeat the prompt's instructions, out of all, and which ones."""
    with tempfile.TemporaryDirectory(prefix="loremind-echo-") as tmp:
        root = Path(tmp)
        paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
        folder = root / "documents"
        write_documents(folder)
        settings = Settings()
        if model_path is not None:
            settings.model.path = str(model_path)
        core = Loremind.open(paths, settings)
        try:
            core.knowledge.index(folder)
            for text in MEMORIES:
                core.memory.remember(text)
            runs = _runs_of(instruction_texts(settings.generation.system_prompt))
            echoes, sourced, cited = [], 0, 0
            questions = [*QUESTIONS, *GENERAL]
            answers = 0
            sampling = dataclasses.replace(SamplingParams.from_settings(settings.generation),
                                           max_tokens=ANSWER_TOKENS)
            for _sample in range(SAMPLES):
                for question in questions:
                    text, sources = _answer(core, question, sampling)
                    answers += 1
                    sourced += bool(sources)
                    cited += bool(sources and re.search(r"\[\d+\]", text))
                    found = _echo(text, runs)
                    if found:
                        echoes.append({"question": question, "echoed": found,
                                       "answer": text[:200]})
            return {"model": core.models.loaded_name, "answers": answers,
                    "answers_with_sources": sourced, "answers_citing_sources": cited,
                    "echoes": len(echoes),
                    "echo_rate": round(len(echoes) / answers, 3),
                    "echoed": echoes, "load_average": os.getloadavg()[0]}
        finally:
            core.close()


def _answer(core: Loremind, question: str, sampling: SamplingParams) -> tuple[str, int]:
    options = AskOptions(sampling=sampling)
    for event in core.chat.ask(core.chat.new_session(), question, options):
        if isinstance(event, Failed):
            raise RuntimeError(f"the answer failed: {event.message}")
        if isinstance(event, Done):
            chat = core.chat.list()[0]
            stored = core.chat.get(chat.id).messages[-1]
            return event.text, len(stored.sources)
    raise RuntimeError("the answer ended without its last event")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _runs_of(texts: list[str]) -> set[tuple[str, ...]]:
    runs = set()
    for text in texts:
        words = _words(text)
        runs |= {tuple(words[i:i + RUN]) for i in range(len(words) - RUN + 1)}
    return runs


def _echo(answer: str, runs: set[tuple[str, ...]]) -> str:
    """The first run of instruction words the answer repeats ("" when none)."""
    words = _words(answer)
    for i in range(len(words) - RUN + 1):
        if tuple(words[i:i + RUN]) in runs:
            return " ".join(words[i:i + RUN])
    return ""
