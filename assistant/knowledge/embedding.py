"""What the rest of Loremind needs from an embedder, and the factory that opens one.

Two runtimes can embed: sentence-transformers (:class:`~assistant.knowledge.embedder.Embedder`,
the shipped all-MiniLM-L6-v2 on torch) and llama.cpp
(:class:`~assistant.knowledge.llama_embedder.LlamaEmbedder`, any GGUF embedding model,
the shipped MiniLM included once converted). Both satisfy :class:`TextEmbedder`; the indexer,
the memory book and the stored chats are typed against it, so either can be handed to them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

Runtime = Literal["sentence-transformers", "llama.cpp"]
RUNTIMES: tuple[Runtime, ...] = ("sentence-transformers", "llama.cpp")
# The runtime the shipped all-MiniLM-L6-v2 runs on; `loremind bench embedder` compares them.
DEFAULT_RUNTIME: Runtime = "sentence-transformers"


class TextEmbedder(Protocol):
    """Turns texts into unit vectors, counts word pieces, and lets questions go first.

    ``name`` is recorded with the index (a different name means re-embedding), ``dim`` is the
    vectors' length, ``max_tokens`` the word pieces of one text the model reads (chunks are cut
    to fit), ``calls`` the texts embedded so far (benchmarks read it).
    """

    name: str
    dim: int
    max_tokens: int
    calls: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors of documents, one row per text, a cancellable slice at
        a time (each slice passes a :func:`~assistant.work.checkpoint`)."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """One query's unit vector, ahead of any batch waiting for the model."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without the special tokens the model adds."""
        ...

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of every word piece of ``text``."""
        ...

    def times_embedded(self, text: str) -> int:
        """How many times ``text`` (a short one, as a question is) was embedded lately."""
        ...


def open_embedder(model: Path | None = None, *, runtime: Runtime = DEFAULT_RUNTIME,
                  name: str | None = None, query_prefix: str = "", document_prefix: str = "",
                  cache_dir: Path | None = None) -> TextEmbedder:
    """The embedder to use.

    Without ``model``: the shipped all-MiniLM-L6-v2 on ``runtime`` (on llama.cpp it is
    converted to GGUF into ``cache_dir`` the first time, and keeps its name, so an index made
    by either runtime stays valid). With ``model``: that GGUF embedding model on llama.cpp,
    called ``name`` (its catalogue name; else the file's), with the prefixes its catalogue
    entry gives for questions and for passages.
    """
    if model is None and runtime == "sentence-transformers":
        from assistant.knowledge.embedder import Embedder

        return Embedder()
    from assistant.knowledge.llama_embedder import LlamaEmbedder

    if model is not None:
        return LlamaEmbedder(model, name=name or model.stem, query_prefix=query_prefix,
                             document_prefix=document_prefix)
    from assistant.defaults import EMBEDDER_NAME, embedded_embedder
    from assistant.knowledge.convert import converted_embedder
    from assistant.paths import app_paths

    folder = embedded_embedder()
    converted = converted_embedder(cache_dir or app_paths().ensure().cache_dir)
    return LlamaEmbedder(converted, name=EMBEDDER_NAME, max_tokens=read_max_tokens(folder))


def read_max_tokens(folder: Path) -> int | None:
    """The word pieces a sentence-transformers folder's model reads, as sentence-transformers
    counts them (``max_seq_length`` less [CLS] and [SEP]); None when the folder does not say."""
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
        return int(config["max_seq_length"]) - 2
    except (OSError, ValueError, KeyError, TypeError):
        return None
