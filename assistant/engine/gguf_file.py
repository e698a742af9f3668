"""Read a GGUF file's header (gguf_header), before llama.cpp ever sees it.

llama.cpp aborts the whole process on some malformed files, so every check that can be made
from the header is made here first, with a message a person can act on.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf

from assistant.engine.gguf_header import DamagedHeader, parse_header
from assistant.errors import ModelError

GGUF_MAGIC = b"GGUF"
# Architectures named by the gguf package that ships with this llama.cpp generation.
KNOWN_ARCHITECTURES = frozenset(gguf.MODEL_ARCH_NAMES.values())
_MAX_ARRAY_KEPT = 64  # vocabularies are huge and never needed here
# Architectures that only encode (no next-token head): embedding models and rerankers.
ENCODER_ARCHITECTURES = frozenset({
    "bert", "eurobert", "gemma-embedding", "jina-bert-v2", "jina-bert-v3", "llama-embed",
    "modern-bert", "neo-bert", "nomic-bert", "nomic-bert-moe"})
POOLING_RANK = int(gguf.PoolingType.RANK)
SENTENCE_POOLINGS = frozenset(int(p) for p in (gguf.PoolingType.MEAN, gguf.PoolingType.CLS,
                                                gguf.PoolingType.LAST))
RERANK_TEMPLATE_KEY = "tokenizer.chat_template.rerank"
_CLASSIFIER_OUT = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.CLS_OUT] + ".weight"
_PURPOSE_WORDS = {"chat": "a chat model (it writes answers)",
                  "embedder": "an embedding model (it turns text into vectors for search)",
                  "reranker": "a reranking model (it scores passages against a question)"}


@dataclass(frozen=True)
class GGUFFile:
    """What the header of a GGUF file says: its kind, architecture, metadata and tensor shapes."""

    path: Path
    size_bytes: int
    kind: str  # general.type: "model" or "adapter"
    architecture: str
    metadata: dict[str, Any] = field(repr=False)
    tensors: dict[str, tuple[int, ...]] = field(repr=False)  # numpy order: (n_out, n_in)

    @property
    def name(self) -> str | None:
        value = self.metadata.get("general.name")
        return str(value) if value else None

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if value is not None else None

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return str(value) if value else None

    @property
    def pooling(self) -> int | None:
        """How the file says token vectors become one (llama.cpp's pooling type); None when it
        does not say."""
        value = self.metadata.get(f"{self.architecture}.pooling_type")
        return int(value) if value is not None else None

    @property
    def purpose(self) -> str:
        """What the model is for: "reranker" (a ranking head or pooling), "embedder" (an
        encoder architecture, or a sentence pooling) or "chat"."""
        if (self.pooling == POOLING_RANK or _CLASSIFIER_OUT in self.tensors
                or RERANK_TEMPLATE_KEY in self.metadata):
            return "reranker"
        if self.architecture in ENCODER_ARCHITECTURES or self.pooling in SENTENCE_POOLINGS:
            return "embedder"
        return "chat"

    @property
    def template_note(self) -> str:
        """What to tell the user about a model with no chat template ("" when it has one)."""
        from assistant.engine.chat_template import NO_TEMPLATE_NOTE

        if self.kind != "model" or self.chat_template:
            return ""
        return NO_TEMPLATE_NOTE.format(name=self.name or self.path.name)


def read_gguf(path: Path) -> GGUFFile:
    """Parse the header of ``path``; raise :class:`ModelError` saying what is wrong with it."""
    path = Path(path)
    _check_file(path)
    size = path.stat().st_size
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{path.name} is not a GGUF file. Loremind runs models in the GGUF format "
            "(convert others with llama.cpp's convert_hf_to_gguf.py)."
        )
    try:
        header = parse_header(path, _MAX_ARRAY_KEPT)
    except DamagedHeader as exc:
        raise ModelError(
            f"{path.name} is damaged or incomplete (its GGUF header cannot be read: {exc}). "
            "Download or convert it again."
        ) from exc
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    tensors = {tensor.name: tensor.shape for tensor in header.tensors}
    end_of_data = max((t.data_offset + t.n_bytes for t in header.tensors), default=0)
    if end_of_data > size:
        raise ModelError(
            f"{path.name} is truncated: its tensors need {end_of_data:,} bytes but the file has "
            f"{size:,}. The download or copy was probably interrupted."
        )
    metadata = header.metadata
    architecture = str(metadata.get("general.architecture") or "")
    if not architecture:
        raise ModelError(f"{path.name} does not say which model architecture it holds.")
    kind = str(metadata.get("general.type") or "model")
    return GGUFFile(path, size, kind, architecture, metadata, tensors)


def validate_model_file(path: Path, purpose: str = "chat") -> GGUFFile:
    """Check that ``path`` is a complete GGUF *model* of an architecture llama.cpp knows, made
    for ``purpose`` ("chat", "embedder" or "reranker")."""
    info = read_gguf(path)
    if info.kind == "adapter":
        raise ModelError(
            f"{info.path.name} is a LoRA adapter, not a model. Choose a base model here, and put "
            "adapters in the adapters folder."
        )
    if info.architecture not in KNOWN_ARCHITECTURES:
        raise ModelError(
            f"{info.path.name} uses the architecture '{info.architecture}', which this version of "
            "llama.cpp does not know. Update Loremind or choose another model."
        )
    if not info.tensors:
        raise ModelError(f"{info.path.name} holds no weights.")
    if info.purpose != purpose:
        raise ModelError(f"{info.path.name} is {_PURPOSE_WORDS[info.purpose]}, not "
                         f"{_PURPOSE_WORDS[purpose]}.")
    return info


def _check_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode  # stat never blocks, unlike opening a FIFO
    except FileNotFoundError:
        raise ModelError(f"Model file not found: {path}. Check the path given with --model "
                         "or as [model] path in the settings.") from None
    except OSError as exc:
        raise ModelError(f"Cannot use {path}: {exc.strerror or exc}.") from exc
    if stat.S_ISDIR(mode):
        raise ModelError(f"{path} is a folder; choose a .gguf file inside it.")
    if not stat.S_ISREG(mode):
        raise ModelError(f"{path} is not a regular file (a FIFO, socket or device); choose a "
                         ".gguf file.")
    if not os.access(path, os.R_OK):
        raise ModelError(f"Cannot read {path}: permission denied. Check the file's permissions.")
