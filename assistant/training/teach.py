"""Teach in three calls: prepare the data the user chose, preview it, start the worker.

    data = prepare(TeachSource("pairs", [Path("pairs.jsonl")]), model_path, settings, ...)
    data.preview(), data.counts()       # shown before anything starts
    run = start(name, data, model_path, paths, settings); for event in run: ...

The CLI and the GUI both go through here; neither imports torch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.engine.gguf_file import validate_model_file
from assistant.errors import TrainingError
from assistant.paths import AppPaths
from assistant.training.architectures import check_trainable
from assistant.training.chat_examples import ChatExamples
from assistant.training.data import (
    TrainingData,
    jsonl_source,
    prepare_pairs,
    prepare_texts,
    read_pairs_jsonl,
)
from assistant.training.job import LoraSettings, TrainingRun, check_name, create_job
from assistant.training.tokens import ModelTokenizer

KINDS = ("texts", "pairs", "chats")


@dataclass(frozen=True)
class TeachSource:
    """What the user chose: ``texts`` (files or folders), ``pairs`` (one JSONL file) or
    ``chats`` (the answers marked as examples)."""

    kind: str
    paths: tuple[Path, ...] = field(default=())


def prepare(source: TeachSource, model_path: Path, settings: LoraSettings, *,
            system_prompt: str = "", paths: AppPaths | None = None,
            conversations: Callable[[], Any] | None = None) -> TrainingData:
    """Read and tokenize the chosen data for ``model_path``; refuses what cannot be trained.

    ``conversations`` returns the store's chats, needed only for the ``chats`` kind.
    """
    info = validate_model_file(model_path)
    check_trainable(info)  # before reading any data: say it first when the model can't train
    tokenizer = ModelTokenizer(model_path)
    try:
        if source.kind == "texts":
            if not source.paths:
                raise TrainingError("Give at least one file or folder of your texts.")
            return prepare_texts(tokenizer, source.paths, max_tokens=settings.max_tokens,
                                 seed=settings.seed)
        if source.kind == "pairs":
            if len(source.paths) != 1:
                raise TrainingError("Give one JSONL file of {\"prompt\", \"response\"} pairs.")
            pairs = read_pairs_jsonl(source.paths[0])
            return prepare_pairs(tokenizer, pairs, [jsonl_source(source.paths[0], pairs)],
                                 system_prompt=system_prompt, max_tokens=settings.max_tokens,
                                 seed=settings.seed)
        if source.kind == "chats":
            if paths is None or conversations is None:
                raise TrainingError("Training from chats needs the chat database.")
            pairs, chat_source, notes = ChatExamples.in_data_dir(paths.data_dir).pairs(
                conversations())
            data = prepare_pairs(tokenizer, pairs, [chat_source], system_prompt=system_prompt,
                                 max_tokens=settings.max_tokens, seed=settings.seed)
            data.notes[:0] = notes
            return data
        raise TrainingError(f"Unknown kind of training data '{source.kind}'; use one of "
                            f"{', '.join(KINDS)}.")
    finally:
        tokenizer.close()


def start(name: str, data: TrainingData, model_path: Path, paths: AppPaths,
          settings: LoraSettings, *, threads: int = 0,
          memory_limit_bytes: int | None = None) -> TrainingRun:
    """Write the job and start its worker process (resuming a matching checkpoint)."""
    check_name(name, paths.adapters_dir)
    job = create_job(name, data, model_path, file_sha256(model_path), paths.adapters_dir,
                     jobs_dir(paths), settings, threads=threads,
                     memory_limit_bytes=memory_limit_bytes)
    return TrainingRun(job)


def jobs_dir(paths: AppPaths) -> Path:
    """Where unfinished jobs keep their data and checkpoints."""
    return paths.cache_dir / "training"


def file_sha256(path: Path) -> str:
    """The sha256 of a file, for the card."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
