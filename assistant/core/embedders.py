"""Which embedder a setting names, which one the index was made with, and opening either.

``[knowledge] embedder`` names the embedder the user *wants*: empty for the built-in
all-MiniLM-L6-v2, a catalogue name of a downloaded embedder, or a GGUF file. The store's meta
says which embedder its vectors *are* from (``embedder``, and ``embedder_source``: the setting
that opened it). They differ while a switch rebuilds the index; until it is done, searches
embed with the one the vectors are from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.defaults import EMBEDDER_NAME

if TYPE_CHECKING:
    from assistant.knowledge.embedding import TextEmbedder
    from assistant.paths import AppPaths
    from assistant.store import Store

log = logging.getLogger(__name__)
SOURCE_KEY = "embedder_source"  # meta: the setting that opened the embedder of the vectors
BUILTIN_WORDS = ("", "builtin", "built-in", EMBEDDER_NAME.lower())
BUILTIN_TITLE = f"Built-in ({EMBEDDER_NAME})"


@dataclass(frozen=True)
class EmbedderChoice:
    """An embedder as a setting names it (``source``), checked: its name, file and prefixes."""

    source: str  # "" (the built-in), a catalogue name, or a GGUF file's absolute path
    name: str  # what the index records; another name means other vectors
    title: str
    path: Path | None = None  # None: the built-in, on sentence-transformers
    query_prefix: str = ""
    document_prefix: str = ""

    def open(self) -> TextEmbedder:
        """Load it (the built-in on sentence-transformers, any other on llama.cpp)."""
        from assistant.knowledge.embedding import open_embedder

        if self.path is None:
            return open_embedder()
        return open_embedder(self.path, runtime="llama.cpp", name=self.name,
                             query_prefix=self.query_prefix,
                             document_prefix=self.document_prefix)


def is_path(source: str) -> bool:
    """Whether a setting names a file (a catalogue or imported name has no slash)."""
    return "/" in source or "\\" in source or source.lower().endswith(".gguf")


def embedder_name(source: str) -> str:
    """The name the embedder ``source`` records with the index, without loading it: a file
    of the catalogue goes by its entry's name, as :func:`resolve_embedder` names it."""
    if source.strip().lower() in BUILTIN_WORDS:
        return EMBEDDER_NAME
    if not is_path(source):
        return source.strip().lower()
    from assistant.models import load_catalogue

    file = Path(source).name
    entry = next((e for e in load_catalogue().of_kind("embedder") if e.file == file), None)
    return entry.name if entry is not None else Path(source).stem


def resolve_embedder(source: str, paths: AppPaths) -> EmbedderChoice:
    """The embedder ``source`` names, checked: the built-in, a downloaded embedder of the
    catalogue, or a GGUF file that is an embedding model; a ModelError saying what to do
    otherwise."""
    wanted = source.strip()
    if wanted.lower() in BUILTIN_WORDS:
        return EmbedderChoice("", EMBEDDER_NAME, BUILTIN_TITLE)
    from assistant.models import load_catalogue
    from assistant.models.retrieval_files import retrieval_file

    found = retrieval_file(paths, wanted, "embedder")
    entry = load_catalogue().get(found.name)
    named = not is_path(wanted)
    return EmbedderChoice(found.name if named else str(found.path), found.name,
                          entry.title if entry is not None else found.path.name, found.path,
                          found.query_prefix, found.document_prefix)


def reranker_source(source: str, paths: AppPaths) -> str:
    """The setting for the reranker ``source`` names, checked: a downloaded reranker's name, a
    GGUF reranker's absolute path, or "" for none ("none", "off")."""
    wanted = source.strip()
    if wanted.lower() in ("", "none", "off"):
        return ""
    from assistant.models.retrieval_files import retrieval_file

    found = retrieval_file(paths, wanted, "reranker")
    return str(found.path) if is_path(wanted) else found.name


def index_embedder(store: Store, wanted: str) -> str | None:
    """The setting of the embedder the store's vectors are from; None when nothing was
    embedded yet (the wanted one can then be used at once)."""
    recorded = store.get_meta("embedder")
    if recorded is None:
        return None if not has_vectors(store) else ""  # older stores: only the built-in
    source = store.get_meta(SOURCE_KEY)
    if source is not None and embedder_name(source) == recorded:
        return source
    if recorded == EMBEDDER_NAME:
        return ""
    if embedder_name(wanted) == recorded:
        return wanted
    return recorded  # a catalogue name; resolving it says what is missing


def has_vectors(store: Store) -> bool:
    """Whether any vector table holds a row (passages, memories, messages)."""
    return any(store.count(name) for name in vector_tables())


def vector_tables() -> tuple[str, ...]:
    """The tables whose rows hold an embedder's vectors."""
    from assistant.chat.tables import MESSAGES
    from assistant.memory.tables import MEMORIES
    from assistant.store import CHUNKS

    return (CHUNKS.name, MEMORIES.name, MESSAGES.name)


def adopt_embedder(store: Store, choice: EmbedderChoice, dim: int) -> None:
    """Record ``choice`` as the embedder of a store that holds no vectors yet, its vector
    tables made anew for its vectors' length when that differs."""
    from assistant.store.tables import TABLES

    with store.writing():
        if store.get_meta("embedder") is not None or has_vectors(store):
            return  # another process got there first
        for name in vector_tables():
            if store.table_dim(name) != dim:
                store.recreate_table(TABLES[name], dim)
        store.set_meta("embedder", choice.name)
        store.set_meta(SOURCE_KEY, choice.source)
    log.info("The index uses %s (%d dimensions)", choice.name, dim)
