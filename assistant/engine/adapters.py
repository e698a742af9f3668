"""AdapterLibrary: LoRA adapters switched per chat on one loaded model, without reloading it.

A chat's active set is a list of (adapter, scale). :meth:`AdapterLibrary.apply` loads the adapters
not yet resident, hands llama.cpp the whole set in one call, and drops the cached prompt whenever
the set changed: the KV cache does not know which weights computed it, and a prefix cached under
another set would silently mix weights into the answer.

Scales are the user's: llama.cpp itself multiplies each B·A product by scale × alpha / rank (scale
alone when the file's alpha is 0), so the scale is passed through untouched.

When chats run on several threads, hold ``model.lock`` across ``apply`` and the generation that
follows, so that no other chat switches the set in between.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp

from assistant.config import AdapterSettings
from assistant.engine.adapter_files import AdapterCatalog, AdapterInfo, adapter_folders
from assistant.engine.model import LocalModel
from assistant.errors import AdapterError
from assistant.paths import AppPaths

log = logging.getLogger(__name__)

ActiveSet = Sequence[tuple["str | AdapterInfo", float]]
_Key = tuple[Path, str]  # (path, content hash): a changed file is a different adapter


@dataclass(frozen=True)
class AdapterChoice:
    """One adapter of a chat's set as the chat stores it: the hash tells a changed file apart."""

    name: str
    scale: float
    content_hash: str
    path: str = ""


@dataclass(frozen=True)
class AdapterSet:
    """The adapters a chat uses, stored with the chat so that reopening it restores them."""

    choices: tuple[AdapterChoice, ...] = ()

    @classmethod
    def of(cls, adapters: Sequence[tuple[AdapterInfo, float]]) -> AdapterSet:
        """The record of ``adapters`` as they are now on disk."""
        return cls(tuple(AdapterChoice(i.name, float(s), i.content_hash, str(i.path))
                         for i, s in adapters))

    def to_list(self) -> list[dict[str, Any]]:
        """Plain data to store (JSON, a database column)."""
        return [{"name": c.name, "scale": c.scale, "sha256": c.content_hash, "path": c.path}
                for c in self.choices]

    @classmethod
    def from_list(cls, rows: Sequence[dict[str, Any]]) -> AdapterSet:
        """Read back what :meth:`to_list` stored."""
        return cls(tuple(AdapterChoice(str(r["name"]), float(r["scale"]),
                                       str(r.get("sha256", "")), str(r.get("path", "")))
                         for r in rows))


@dataclass(frozen=True)
class ResolvedSet:
    """What a stored set maps to now: the adapters to apply, and warnings for the user."""

    adapters: tuple[tuple[AdapterInfo, float], ...]
    warnings: tuple[str, ...]


@dataclass
class _Resident:
    info: AdapterInfo
    handle: Any  # llama_adapter_lora_p


class AdapterLibrary:
    """The adapters loaded on one :class:`LocalModel`, and the set active on its context."""

    def __init__(self, model: LocalModel, catalog: AdapterCatalog,
                 max_resident_mb: int = 1024) -> None:
        self.model = model
        self.catalog = catalog
        self.max_resident_bytes = max_resident_mb * 1024 * 1024
        self._resident: OrderedDict[_Key, _Resident] = OrderedDict()  # least recently used first
        self._requested: tuple[tuple[AdapterInfo, float], ...] = ()
        self._effective: dict[_Key, float] = {}  # what llama.cpp holds: non-zero scales only

    @classmethod
    def for_model(cls, model: LocalModel, paths: AppPaths,
                  settings: AdapterSettings) -> AdapterLibrary:
        """A library over the configured folders, judged against ``model``."""
        catalog = AdapterCatalog(adapter_folders(paths, settings), model.info)
        return cls(model, catalog, settings.max_resident_mb)

    @property
    def active(self) -> tuple[tuple[AdapterInfo, float], ...]:
        """The set last applied, as it was asked for (zero scales included)."""
        return self._requested

    @property
    def resident(self) -> list[AdapterInfo]:
        """Adapters loaded in memory, least recently used first."""
        return [r.info for r in self._resident.values()]

    @property
    def resident_bytes(self) -> int:
        """Memory the resident adapters take, counted as their file sizes."""
        return sum(r.info.size_bytes for r in self._resident.values())

    def apply(self, adapters: ActiveSet) -> bool:
        """Make ``adapters`` the active set; return True when it changed (the cache was dropped).

        Raises :class:`AdapterError` for an unknown or incompatible adapter, a repeated one, a
        scale that is not a number, or a file llama.cpp refuses; the active set is then unchanged.
        """
        with self.model.lock:
            if self.model.llama.model is None:
                raise AdapterError("The model was closed; load it again before applying adapters.")
            wanted = self._current(adapters)
            on = [(info, scale) for info, scale in wanted if scale != 0.0]  # as llama.cpp counts
            effective = {_key(info): scale for info, scale in on}
            if effective == self._effective:
                self._requested = wanted
                return False
            handles = [self._load(info) for info, _ in on]
            n = len(on)
            array = (llama_cpp.llama_adapter_lora_p_ctypes * n)(*handles) if n else None
            scales = (ctypes.c_float * n)(*(scale for _, scale in on)) if n else None
            if llama_cpp.llama_set_adapters_lora(self.model.llama.ctx, array, n, scales):
                raise AdapterError("llama.cpp refused the adapter set; see the log for why.")
            self._effective = effective
            self._requested = wanted
            self.model.drop_cache()
            self._evict()
        log.info("Active adapters: %s", ", ".join(f"{i.name}×{s:g}" for i, s in wanted) or "none")
        return True

    def clear(self) -> bool:
        """Switch every adapter off; return True when some were on."""
        return self.apply(())

    def record(self) -> AdapterSet:
        """The active set as a chat stores it."""
        return AdapterSet.of(self._requested)

    def resolve(self, record: AdapterSet) -> ResolvedSet:
        """Map a stored set onto the adapters on disk now, with a warning for each difference.

        An adapter is found by its content first (a moved or renamed file is still the same
        adapter), then by path or name (a changed file is used, with a warning); one that is gone
        or no longer fits the model is left out, with a warning.
        """
        self.catalog.refresh()
        adapters: list[tuple[AdapterInfo, float]] = []
        warnings: list[str] = []
        for choice in record.choices:
            info = self.catalog.by_hash(choice.content_hash)
            if info is None:
                info = self._find_quietly(choice.path) or self._find_quietly(choice.name)
                if info is None:
                    warnings.append(f"The adapter '{choice.name}' is gone (it was at "
                                    f"{choice.path or 'an unknown place'}); the chat goes on "
                                    "without it.")
                    continue
                if not info.compatible:
                    warnings.append(f"The adapter '{choice.name}' can no longer be used: "
                                    f"{info.path.name} {info.reason}. Left out.")
                    continue
                warnings.append(f"The adapter '{choice.name}' has changed since this chat used "
                                f"it; the new version of {info.path.name} is used.")
            adapters.append((info, choice.scale))
        return ResolvedSet(tuple(adapters), tuple(warnings))

    def close(self) -> None:
        """Switch adapters off and free them; call before closing the model."""
        with self.model.lock:
            if self.model.llama.model is not None:
                if self._effective:
                    llama_cpp.llama_set_adapters_lora(self.model.llama.ctx, None, 0, None)
                    self.model.drop_cache()
                for resident in self._resident.values():
                    llama_cpp.llama_adapter_lora_free(resident.handle)
            # else the model was freed first, and llama.cpp freed its adapters with it
            self._resident.clear()
            self._effective = {}
            self._requested = ()

    # -- internals ----------------------------------------------------------------------------

    def _current(self, adapters: ActiveSet) -> tuple[tuple[AdapterInfo, float], ...]:
        """Look names up, check scales and repeats, and re-read any file changed on disk."""
        wanted: list[tuple[AdapterInfo, float]] = []
        for entry, scale in adapters:
            info = self.catalog.find(entry) if isinstance(entry, str) else entry
            if not _unchanged_on_disk(info):
                self.catalog.refresh()
                info = self.catalog.find(str(info.path))
            if not (isinstance(scale, int | float) and math.isfinite(scale)):
                raise AdapterError(f"The scale of the adapter '{info.name}' must be a number, "
                                   f"not {scale!r}.")
            if not info.compatible:
                raise AdapterError(f"The adapter '{info.name}' can't be used with "
                                   f"{self.model.path.name}: {info.path.name} {info.reason}.")
            if any(_key(info) == _key(other) for other, _ in wanted):
                raise AdapterError(f"The adapter '{info.name}' is listed twice; give it once, "
                                   "with the scale you want.")
            wanted.append((info, float(scale)))
        return tuple(wanted)

    def _load(self, info: AdapterInfo) -> Any:
        """The llama.cpp handle of ``info``, loading it if it is not resident."""
        key = _key(info)
        resident = self._resident.get(key)
        if resident is not None:
            self._resident.move_to_end(key)
            return resident.handle
        handle = llama_cpp.llama_adapter_lora_init(self.model.llama.model, os.fsencode(info.path))
        if not handle:  # a NULL pointer object, not None
            raise AdapterError(f"llama.cpp could not load the adapter '{info.name}' from "
                               f"{info.path}; the log says why. Try converting it again.")
        self._resident[key] = _Resident(info, handle)
        log.info("Loaded adapter %s (%s bytes)", info.path, info.size_bytes)
        return handle

    def _evict(self) -> None:
        """Free the least recently used inactive adapters until the resident ones fit the bound."""
        total = self.resident_bytes
        for key in list(self._resident):
            if total <= self.max_resident_bytes:
                return
            if key in self._effective:
                continue
            resident = self._resident.pop(key)
            llama_cpp.llama_adapter_lora_free(resident.handle)
            total -= resident.info.size_bytes
            log.info("Freed adapter %s", resident.info.path)

    def _find_quietly(self, key: str) -> AdapterInfo | None:
        if not key:
            return None
        try:
            return self.catalog.find(key)
        except AdapterError:
            return None


def _key(info: AdapterInfo) -> _Key:
    return (info.path, info.content_hash)


def _unchanged_on_disk(info: AdapterInfo) -> bool:
    try:
        stat = info.path.stat()
    except OSError:
        return False
    return (stat.st_size, stat.st_mtime_ns) == (info.size_bytes, info.mtime_ns)
