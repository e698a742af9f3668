"""LoRA adapter files: what each one holds, whether it fits the base model, and folder scanning.

Everything here reads files with the ``gguf`` package and never with llama.cpp, whose loader can
abort the process on a malformed file: a file reaches llama.cpp only after it passed these checks.
An incompatible adapter is an expected outcome, reported as a value with a reason.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from stat import S_ISREG
from typing import Any

import gguf

from assistant.config import AdapterSettings
from assistant.engine.gguf_file import GGUF_MAGIC, GGUFFile, read_gguf
from assistant.errors import AdapterError, ModelError
from assistant.paths import AppPaths

log = logging.getLogger(__name__)

ADAPTER_SUFFIXES = (".gguf",)
# Formats people download from Hugging Face; listed so the user learns they need converting.
UNCONVERTED_SUFFIXES = (".safetensors", ".bin", ".pt")
_LORA_A, _LORA_B = ".lora_a", ".lora_b"
# Common alphas are 8 to 128; far beyond, alpha / rank scales the update into nonsense or inf.
MAX_ALPHA = 10_000.0
# Weight types the adapter converter writes and llama.cpp multiplies on every back end; others
# (F64, say) pass llama.cpp's loader and then crash the process at the first decode.
_WEIGHT_TYPES = frozenset({gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16,
                           gguf.GGMLQuantizationType.BF16, gguf.GGMLQuantizationType.Q8_0})


@dataclass(frozen=True)
class AdapterInfo:
    """One adapter file as read from its header, and whether the loaded base model can use it."""

    name: str
    path: Path
    size_bytes: int
    mtime_ns: int
    content_hash: str  # sha256 of the whole file
    compatible: bool
    reason: str = ""  # why not, when not compatible
    architecture: str = ""
    rank: int = 0
    alpha: float = 0.0
    targets: tuple[str, ...] = ()  # base-model tensors the adapter changes
    base_model: dict[str, str] = field(default_factory=dict, hash=False)  # general.base_model.*
    task_name: str | None = None
    prompt_prefix: str | None = None

    def effective_scale(self, scale: float) -> float:
        """What llama.cpp multiplies B·A by: scale × alpha / rank, or scale when alpha is 0."""
        return scale * self.alpha / self.rank if self.alpha and self.rank else scale

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "name": self.name,
            "path": os.fsencode(self.path).decode("utf-8", "backslashreplace"),
            "compatible": self.compatible,
            "reason": self.reason,
            "architecture": self.architecture,
            "rank": self.rank,
            "alpha": self.alpha if math.isfinite(self.alpha) else None,  # JSON has no NaN
            "size": self.size_bytes,
            "content_hash": self.content_hash,
            "targets": list(self.targets),
            "base_model": self.base_model,
            "task_name": self.task_name,
            "prompt_prefix": self.prompt_prefix,
        }


def inspect_adapter(path: Path, base: GGUFFile) -> AdapterInfo:
    """Read ``path`` and judge it against ``base``; never raises for a bad file, only says why."""
    path = Path(path)
    if not _utf8(path):  # llama.cpp takes the path as UTF-8 text
        return AdapterInfo(os.fsencode(path.stem).decode("utf-8", "replace"), path, 0, 0, "",
                           False, "has a file name that is not valid UTF-8; rename it")
    try:
        stat = path.stat()
        if not S_ISREG(stat.st_mode):  # reading a FIFO blocks, a device never ends
            return AdapterInfo(path.stem, path, stat.st_size, stat.st_mtime_ns, "", False,
                               "is not a regular file (a FIFO, socket or device)")
        digest = _sha256(path)
    except OSError as exc:
        return AdapterInfo(path.stem, path, 0, 0, "", False, f"cannot be read: {exc.strerror}")
    unusable = AdapterInfo(path.stem, path, stat.st_size, stat.st_mtime_ns, digest, False)
    if path.suffix.lower() in UNCONVERTED_SUFFIXES or not _has_gguf_magic(path):
        return replace(unusable, reason=(
            "is not a GGUF file; convert a PEFT adapter with llama.cpp's convert_lora_to_gguf.py"))
    try:
        header = read_gguf(path)
    except ModelError as exc:  # its message starts with the file name: keep the rest
        return replace(unusable, reason=str(exc).removeprefix(f"{path.name} ").rstrip("."))
    meta = header.metadata
    info = replace(
        unusable,
        name=str(meta.get("general.name") or path.stem),
        architecture=header.architecture,
        alpha=float(meta.get("adapter.lora.alpha") or 0.0),
        base_model={k.removeprefix("general."): str(v) for k, v in meta.items()
                    if k.startswith("general.base_model.")},
        task_name=_text(meta.get("adapter.lora.task_name")),
        prompt_prefix=_text(meta.get("adapter.lora.prompt_prefix")),
    )
    if header.kind != "adapter":
        return replace(info, reason=(
            "is a full model, not an adapter: choose it as the model in the settings, or move it "
            "out of the adapters folder"))
    if meta.get("adapter.type") != "lora":
        return replace(info, reason=(
            f"is a '{meta.get('adapter.type')}' adapter; only LoRA adapters can be applied"))
    if header.architecture != base.architecture:
        return replace(info, reason=(
            f"was made for the '{header.architecture}' architecture, but the model is "
            f"'{base.architecture}'"))
    if not math.isfinite(info.alpha) or not 0 <= info.alpha <= MAX_ALPHA:
        return replace(info, reason=(
            f"has the LoRA alpha {info.alpha!r}, outside 0 to {MAX_ALPHA:g}: its weights would "
            "overwhelm the model; convert it again with a sensible alpha"))
    try:
        _check_weight_types(path)
        targets, rank = _check_tensors(header.tensors, base.tensors)
    except AdapterError as exc:
        return replace(info, reason=str(exc))
    return replace(info, compatible=True, targets=targets, rank=rank)


def _check_weight_types(path: Path) -> None:
    """Refuse weight types llama.cpp cannot multiply, and quantized rows it cannot split."""
    try:
        tensors = gguf.GGUFReader(path, "r").tensors
    except Exception as exc:  # read_gguf already parsed it: this is not expected
        raise AdapterError(f"cannot be read: {exc}") from exc
    for tensor in tensors:
        kind = gguf.GGMLQuantizationType(tensor.tensor_type)
        if not tensor.name.endswith((_LORA_A, _LORA_B)):
            continue
        if kind not in _WEIGHT_TYPES:
            raise AdapterError(
                f"stores '{tensor.name}' as {kind.name}, which llama.cpp cannot compute with; "
                "convert it again with --outtype f16")
        block = gguf.GGML_QUANT_SIZES[kind][0]
        if int(tensor.shape[0]) % block:
            raise AdapterError(
                f"stores '{tensor.name}' as {kind.name} with rows of {int(tensor.shape[0])} "
                f"values, not a multiple of {block}; convert it again with --outtype f16")


def _check_tensors(
    tensors: dict[str, tuple[int, ...]], base: dict[str, tuple[int, ...]]
) -> tuple[tuple[str, ...], int]:
    """Mirror llama.cpp's adapter loader: pairs complete, targets in the base, shapes that fit.

    Returns the targeted base tensors and the largest rank. Shapes are numpy order (n_out, n_in):
    ``lora_a`` is (rank, n_in) and ``lora_b`` (n_out, rank); for ``token_embd`` llama.cpp takes
    them flipped (``lora_a`` (rank, vocab), ``lora_b`` (n_embd, rank)).
    """
    pairs: dict[str, dict[str, tuple[int, ...]]] = {}
    for name, shape in tensors.items():
        if name.endswith(_LORA_A) or name.endswith(_LORA_B):
            target, part = name[:-len(_LORA_A)], name[-len(_LORA_A):]
            pairs.setdefault(target, {})[part] = shape
        elif not name.endswith("_norm.weight"):  # llama.cpp skips norm vectors, refuses the rest
            raise AdapterError(f"holds the tensor '{name}', which is not a LoRA weight")
    if not pairs:
        raise AdapterError("holds no LoRA weights")
    rank = 0
    for target, parts in sorted(pairs.items()):
        if set(parts) != {_LORA_A, _LORA_B}:
            raise AdapterError(f"has only one half of the LoRA pair for '{target}'")
        if target not in base:
            raise AdapterError(f"changes the tensor '{target}', which the model does not have "
                               "(was it made for another base model?)")
        a, b, weight = parts[_LORA_A], parts[_LORA_B], base[target]
        if len(a) != 2 or len(b) != 2 or len(weight) != 2:
            raise AdapterError(f"has LoRA weights for '{target}' that are not matrices")
        if target.endswith("token_embd.weight"):
            fits = b[0] == weight[1] and a[0] == weight[0] and a[1] == b[1]
        else:
            fits = a[1] == weight[1] and b[0] == weight[0] and a[0] == b[1]
        if not fits:
            raise AdapterError(
                f"has LoRA weights of shapes {a} and {b} for '{target}', which is {weight} "
                "(was it made for another base model?)")
        if b[1] == 0:
            raise AdapterError(f"has rank 0 for '{target}': its LoRA weights are empty")
        rank = max(rank, b[1])
    return tuple(sorted(pairs)), rank


def adapter_folders(paths: AppPaths, settings: AdapterSettings) -> list[Path]:
    """The folders searched for adapters: ``<data>/adapters`` first, then the configured ones."""
    return [paths.adapters_dir, *(Path(f).expanduser() for f in settings.folders)]


class AdapterCatalog:
    """The adapter files in a list of folders, judged against one base model.

    :meth:`refresh` re-scans the folders and re-reads only files whose size or modification time
    changed, so calling it often (on a timer, when a chat opens) is cheap.
    """

    def __init__(self, folders: Sequence[Path], base: GGUFFile) -> None:
        self.folders = [Path(f).expanduser() for f in folders]
        self.base = base
        self._lock = threading.Lock()
        self._by_path: dict[Path, AdapterInfo] = {}
        self.refresh()

    @property
    def adapters(self) -> list[AdapterInfo]:
        """Every adapter file found, compatible or not, sorted by name then path."""
        with self._lock:
            return sorted(self._by_path.values(), key=lambda i: (i.name.lower(), str(i.path)))

    def refresh(self) -> CatalogChanges:
        """Notice files added, changed or removed since the last scan."""
        found = {path: stat for path, stat in _scan(self.folders)}
        with self._lock:
            old = self._by_path
            changes = CatalogChanges()
            fresh: dict[Path, AdapterInfo] = {}
            for path, stat in found.items():
                known = old.get(path)
                if known and (known.size_bytes, known.mtime_ns) == (stat.st_size,
                                                                    stat.st_mtime_ns):
                    fresh[path] = known
                    continue
                fresh[path] = inspect_adapter(path, self.base)
                (changes.changed if known else changes.added).append(fresh[path])
            changes.removed.extend(info for path, info in old.items() if path not in found)
            self._by_path = fresh
        if changes:
            log.info("Adapters: %s", changes)
        return changes

    def find(self, key: str) -> AdapterInfo:
        """The adapter whose path, name or file name is ``key``; re-scans once if none is."""
        for attempt in range(2):
            matches = self._matches(key)
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                paths = ", ".join(str(m.path) for m in matches)
                raise AdapterError(
                    f"Several adapters are called '{key}' ({paths}). Name one by its path.")
            if attempt == 0:
                self.refresh()
        folders = ", ".join(str(f) for f in self.folders)
        raise AdapterError(
            f"No adapter called '{key}' in {folders}. `loremind adapters list` shows the "
            "adapters found.")

    def by_hash(self, content_hash: str) -> AdapterInfo | None:
        """A compatible adapter with exactly this content, wherever it now lies."""
        for info in self.adapters:
            if info.compatible and info.content_hash == content_hash:
                return info
        return None

    def _matches(self, key: str) -> list[AdapterInfo]:
        adapters = self.adapters
        as_path = Path(key).expanduser()
        for test in (lambda i: i.path == as_path or i.path == as_path.absolute(),
                     lambda i: i.name == key,
                     lambda i: i.path.stem == key or i.path.name == key):
            matches = [i for i in adapters if test(i)]
            if matches:
                return matches
        return []


@dataclass
class CatalogChanges:
    """What one :meth:`AdapterCatalog.refresh` noticed."""

    added: list[AdapterInfo] = field(default_factory=list)
    changed: list[AdapterInfo] = field(default_factory=list)
    removed: list[AdapterInfo] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def __str__(self) -> str:
        parts = [f"{label} {', '.join(i.path.name for i in items)}"
                 for label, items in (("added", self.added), ("changed", self.changed),
                                      ("removed", self.removed)) if items]
        return "; ".join(parts) or "no change"


def _scan(folders: Iterable[Path]) -> Iterable[tuple[Path, os.stat_result]]:
    """Visible adapter-like files under ``folders`` (recursively), with their stat."""
    suffixes = ADAPTER_SUFFIXES + UNCONVERTED_SUFFIXES
    for folder in folders:
        if not folder.is_dir():
            continue
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith(".") or not name.lower().endswith(suffixes):
                    continue
                path = Path(root, name).absolute()
                try:
                    yield path, path.stat()
                except OSError:  # removed while scanning
                    continue


def _utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_gguf_magic(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _text(value: Any) -> str | None:
    return str(value) if value else None
