"""The retrieval model a setting names: a downloaded catalogue embedder or reranker, or a GGUF file.

``[knowledge] embedder`` and ``[knowledge] reranker`` hold a catalogue name or a path. A name is
looked up among the installed models (the models folder's index, as the model manager keeps it);
a path is checked as a GGUF model of that kind, and when it is a catalogue entry's file it gets
that entry's name and prefixes, so a model the user downloaded by hand is used as Loremind would
use it. This lives with the models, not in ``assistant.knowledge``, which sits below them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import ModelError
from assistant.models.catalogue import CatalogueEntry
from assistant.models.manager import ModelManager
from assistant.paths import AppPaths

if TYPE_CHECKING:
    from assistant.config import KnowledgeSettings
    from assistant.knowledge.reranker import LlamaReranker

ARTICLES = {"embedder": "an embedding model", "reranker": "a reranker"}


@dataclass(frozen=True)
class RetrievalFile:
    """A retrieval model's file, the name its index and results are filed under, and the
    prefixes its model card puts before a question and before a passage."""

    path: Path
    name: str
    query_prefix: str = ""
    document_prefix: str = ""


def retrieval_file(paths: AppPaths, choice: str, kind: str) -> RetrievalFile:
    """The ``kind`` ("embedder" or "reranker") model ``choice`` stands for: an installed catalogue
    name, or a GGUF file (checked); a ModelError says what to do otherwise."""
    from assistant.engine.gguf_file import validate_model_file

    manager = ModelManager(paths)
    catalogue = manager.catalogue
    wanted = choice.strip()
    for model in manager.installed():
        if model.name == wanted.lower():
            if model.kind != kind:
                raise ModelError(f"{model.name} is not {ARTICLES[kind]}. 'loremind models list "
                                 f"--kind {kind}' lists them.")
            return _named(model.path, catalogue.get(model.name), model.name)
    entry = catalogue.get(wanted)
    if entry is not None:
        raise ModelError(f"{entry.title} is not downloaded yet: run 'loremind models pull "
                         f"{entry.name}' first.")
    path = Path(wanted).expanduser()
    if not path.is_file():
        raise ModelError(f"'{wanted}' is neither a downloaded {kind} nor a file. 'loremind "
                         f"models list --kind {kind}' lists them.")
    path = validate_model_file(path, kind).path.resolve()
    by_file = next((e for e in catalogue.of_kind(kind) if e.file == path.name), None)
    return _named(path, by_file, path.stem)


def _named(path: Path, entry: CatalogueEntry | None, fallback: str) -> RetrievalFile:
    if entry is not None:
        return RetrievalFile(path, entry.name, entry.query_prefix, entry.document_prefix)
    return RetrievalFile(path, fallback)


def open_reranker(knowledge: KnowledgeSettings, paths: AppPaths) -> LlamaReranker | None:
    """The reranker ``[knowledge] reranker`` names, loaded and its speed measured (one pair), or
    None when none is set: then nothing is loaded and llama.cpp is not even imported. The core's
    parts call this once and hand the object to every search."""
    choice = knowledge.reranker.strip()
    if not choice:
        return None
    from assistant.knowledge.reranker import LlamaReranker

    found = retrieval_file(paths, choice, "reranker")
    reranker = LlamaReranker(found.path, name=found.name)
    reranker.measure_speed()
    return reranker
