"""The model catalogue shipped with Loremind, and which of its entries fit this machine.

The catalogue is data (``catalogue.json`` in this package), so that it can be updated without
touching code. Fit is judged from the memory each entry needs against this machine's RAM, and
its GPU memory when the llama.cpp build can offload (imported lazily: listing the catalogue
must not load llama.cpp unless it is asked about the GPU).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from assistant.errors import ConfigError

# Leave this share of RAM to the system, the embedder and the app itself.
RAM_SHARE_FOR_MODEL = 0.75


@dataclass(frozen=True)
class ModelShape:
    """A model's architecture and tensor sizes, as its config.json gives them: enough to write
    a random model that llama.cpp runs exactly as fast as the real one."""

    architecture: str  # "llama" or "qwen2"
    vocab: int
    embedding: int
    layers: int
    feed_forward: int
    heads: int
    kv_heads: int
    rope_theta: float
    tied_output: bool  # the output layer reuses the token embeddings

    @property
    def head_dim(self) -> int:
        return self.embedding // self.heads


KINDS = ("chat", "embedder", "reranker")
RETRIEVAL_KINDS = ("embedder", "reranker")


@dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable model: where it lives on the hub, what it needs, and what it is for.

    ``kind`` says what it does: "chat" (answers), "embedder" (turns text into vectors for
    search) or "reranker" (scores passages against a question). For a retrieval model,
    ``context_length`` is the tokens it reads at once, ``dimensions`` an embedder's vector length,
    and the prefixes what its model card says to put before a question and before a passage.
    """

    name: str
    title: str
    repo: str
    file: str
    size_bytes: int
    params: int
    context_length: int
    license: str
    gated: bool
    ram_bytes: int
    summary: str = ""
    revision: str = "main"
    quantization: str = ""  # llama.cpp's name for the file's type, e.g. Q4_K_M
    shape: ModelShape | None = None
    kind: str = "chat"
    languages: tuple[str, ...] = ()
    dimensions: int = 0
    query_prefix: str = ""
    document_prefix: str = ""

    @property
    def params_label(self) -> str:
        """The parameter count as people write it: ``0.5B``, ``7.6B``."""
        return f"{self.params / 1e9:.1f}B".replace(".0B", "B")


@dataclass(frozen=True)
class Machine:
    """What this computer offers a model: RAM, and GPU memory when llama.cpp can offload."""

    ram_bytes: int
    gpu_offload: bool
    vram_bytes: int | None


@dataclass(frozen=True)
class Fit:
    """Whether an entry fits, where it would run, and why not when it does not."""

    fits: bool
    device: str  # "gpu", "cpu" or "" when it does not fit
    reason: str


@dataclass(frozen=True)
class Catalogue:
    """The shipped entries and the rule that picks a recommended one.

    ``entries`` are the chat models (what the Models page, the first run and the recommendation
    offer); ``retrieval`` the embedders and rerankers, listed apart.
    """

    entries: tuple[CatalogueEntry, ...]
    recommend_order: tuple[str, ...]
    gpu_order: tuple[str, ...]
    cpu_max_params: int
    retrieval: tuple[CatalogueEntry, ...] = ()

    def get(self, name: str) -> CatalogueEntry | None:
        """The entry called ``name`` (case-insensitive), of any kind, or None."""
        wanted = name.strip().lower()
        return next((e for e in self.entries + self.retrieval if e.name == wanted), None)

    def of_kind(self, kind: str) -> tuple[CatalogueEntry, ...]:
        """The entries of one kind: "chat", "embedder" or "reranker"."""
        return tuple(e for e in self.entries + self.retrieval if e.kind == kind)

    def fit(self, entry: CatalogueEntry, machine: Machine) -> Fit:
        """Does ``entry`` fit ``machine``? On the GPU when its memory holds it, else in RAM."""
        need = entry.ram_bytes
        if machine.gpu_offload and machine.vram_bytes and need <= machine.vram_bytes:
            return Fit(True, "gpu", "")
        usable = int(machine.ram_bytes * RAM_SHARE_FOR_MODEL)
        if need <= usable:
            return Fit(True, "cpu", "")
        return Fit(False, "", f"needs about {gigabytes(need)} of memory; this computer has "
                              f"{gigabytes(machine.ram_bytes)} of RAM")

    def recommended(self, machine: Machine) -> CatalogueEntry | None:
        """The first entry of the GPU order that fits on the GPU, else of the general order that
        fits; never one that needs a token, and on a CPU one small enough to answer at reading
        speed."""
        for name in self.gpu_order:
            entry = self.get(name)
            if entry is not None and not entry.gated and self.fit(entry, machine).device == "gpu":
                return entry
        for name in self.recommend_order:
            entry = self.get(name)
            if entry is None or entry.gated:
                continue
            fit = self.fit(entry, machine)
            if fit.fits and (fit.device == "gpu" or entry.params <= self.cpu_max_params):
                return entry
        return None


@cache
def load_catalogue() -> Catalogue:
    """Read the catalogue shipped in this package (once per process)."""
    try:
        text = resources.files("assistant.models").joinpath("catalogue.json").read_text("utf-8")
        raw: dict[str, Any] = json.loads(text)
        entries = tuple(_entry(item) for item in raw["models"])
        retrieval = tuple(_entry(item) for item in raw.get("retrieval", []))
        if any(e.kind != "chat" for e in entries) or any(
                e.kind not in RETRIEVAL_KINDS for e in retrieval):
            raise ValueError("an entry is listed under the wrong kind")
        recommend = raw["recommend"]
        return Catalogue(entries, tuple(recommend["order"]), tuple(recommend["gpu_order"]),
                         int(recommend["cpu_max_params"]), retrieval)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"The model catalogue shipped with Loremind is damaged ({exc}). "
                          "Reinstall Loremind.") from exc


def _entry(item: dict[str, Any]) -> CatalogueEntry:
    shape = item.get("shape")
    return CatalogueEntry(**{**item, "shape": ModelShape(**shape) if shape else None,
                             "languages": tuple(item.get("languages", ()))})


def this_machine(probe_gpu: bool = True) -> Machine:
    """Measure this machine; the GPU is asked about only when ``probe_gpu`` (loads llama.cpp)."""
    offload = _gpu_offload_supported() if probe_gpu else False
    return Machine(total_ram_bytes(), offload, _vram_bytes() if offload else None)


def total_ram_bytes() -> int:
    """Physical memory in bytes (sysconf, else /proc/meminfo; 0 when neither answers)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _gpu_offload_supported() -> bool:
    try:
        import llama_cpp
    except ImportError:
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


def _vram_bytes() -> int | None:
    """Total memory of the first NVIDIA GPU, from nvidia-smi; None when it can't be read."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5, check=True).stdout
        return int(out.split()[0]) * 1024 * 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def gigabytes(size: int) -> str:
    """A byte count for people: ``4.7 GB``, ``398 MB``."""
    if size >= 1_000_000_000:
        return f"{size / 1e9:.1f} GB"
    return f"{size / 1e6:.0f} MB"
