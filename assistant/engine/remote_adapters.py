"""LoRA adapters of a model that runs on a server.

What a chat may choose depends on the server, not on the adapter files on this machine:

- ``per_request``: llama.cpp's ``llama-server`` lists the adapters it loaded at start
  (``/lora-adapters``) and takes ``"lora": [{"id", "scale"}]`` with every request, so each chat's
  set is sent with its requests (every listed adapter, unchosen ones at scale 0, because the server
  keeps its global scale for adapters a request leaves out);
- ``fixed``: the server applies adapters it was started with to every answer (llama-cpp-python's
  ``llama_cpp.server --lora_path``), named in ``server_adapters``: a chat may choose exactly those;
- ``local_only``: the server cannot apply adapters: a chat's adapters work only on a local model.

The class mirrors the parts of :class:`~assistant.engine.adapters.AdapterLibrary` the facade and
the adapters panel use (``catalog``, ``resolve``, ``apply``, ``active``, ``close``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from assistant.config import RemoteSettings
from assistant.engine.adapter_files import AdapterCatalog, AdapterInfo, CatalogChanges
from assistant.engine.adapters import AdapterSet, ResolvedSet
from assistant.engine.remote import RemoteModel
from assistant.errors import AdapterError

log = logging.getLogger(__name__)
Mode = Literal["per_request", "fixed", "local_only"]


class ServerAdapterCatalog(AdapterCatalog):
    """The adapters the server can apply, as an :class:`AdapterCatalog` for the panels (there is
    no folder to scan: the server listed them when it was connected)."""

    def __init__(self, adapters: list[AdapterInfo], note: str) -> None:
        self.folders = []
        self.note = note  # what the adapters panel and `adapters list` say about this model
        self._served = list(adapters)

    @property
    def adapters(self) -> list[AdapterInfo]:
        """The server's adapters, in its order."""
        return list(self._served)

    def refresh(self) -> CatalogChanges:
        """Nothing to re-scan: the server's adapters were listed when it was connected."""
        return CatalogChanges()

    def find(self, key: str) -> AdapterInfo:
        """The server adapter named ``key`` (its name or file name)."""
        for info in self._served:
            if key in (info.name, info.path.name, str(info.path)):
                return info
        raise AdapterError(f"'{key}' is not available on this model: {self.note}")

    def by_hash(self, content_hash: str) -> AdapterInfo | None:
        """The server adapter with this identity, if the server still has it."""
        return next((i for i in self._served if i.content_hash == content_hash), None)


class RemoteAdapters:
    """A chat's adapters on a server model: sent per request, fixed by the server, or refused."""

    def __init__(self, model: RemoteModel, mode: Mode, catalog: ServerAdapterCatalog,
                 fixed: tuple[tuple[AdapterInfo, float], ...] = ()) -> None:
        self.model = model
        self.mode = mode
        self.catalog = catalog
        self._fixed = fixed
        self._requested: tuple[tuple[AdapterInfo, float], ...] = fixed

    @classmethod
    def for_model(cls, model: RemoteModel, settings: RemoteSettings) -> RemoteAdapters:
        """What ``model``'s server supports, from what it listed and what the settings state."""
        where = model.client.root
        if model.lora_adapters is not None and settings.lora != "fixed":
            infos = [_server_info(entry) for entry in model.lora_adapters]
            note = (f"the server at {where} switches these adapters per request"
                    if infos else f"the server at {where} was started without adapters")
            return cls(model, "per_request", ServerAdapterCatalog(infos, note))
        fixed = tuple((_fixed_info(name), scale)
                      for name, scale in map(_parse_spec, settings.server_adapters))
        if fixed and settings.lora != "none":
            names = ", ".join(f"{i.name}×{s:g}" for i, s in fixed)
            note = (f"the server at {where} applies {names} to every answer; other adapters are "
                    "local-only for this model")
            return cls(model, "fixed", ServerAdapterCatalog([i for i, _ in fixed], note), fixed)
        note = (f"adapters are local-only for this model: the server at {where} cannot switch "
                "adapters per request")
        return cls(model, "local_only", ServerAdapterCatalog([], note))

    @property
    def active(self) -> tuple[tuple[AdapterInfo, float], ...]:
        """The set the server applies to the next answer."""
        return self._requested

    def resolve(self, record: AdapterSet) -> ResolvedSet:
        """Map a chat's stored set onto what the server can apply, with a warning for each
        adapter it cannot."""
        wanted = [(c.name, c.scale) for c in record.choices]
        if self.mode == "fixed":
            fixed = [(i.name, s) for i, s in self._fixed]
            warnings = () if wanted == fixed else (f"This chat's adapters were not applied: "
                                                   f"{self.catalog.note}.",)
            return ResolvedSet(self._fixed, warnings)
        adapters: list[tuple[AdapterInfo, float]] = []
        notes: list[str] = []
        for choice in record.choices:
            info = self.catalog.by_hash(choice.content_hash) or _quietly(self.catalog, choice.name)
            if info is None:
                notes.append(f"The adapter '{choice.name}' was left out: {self.catalog.note}.")
                continue
            adapters.append((info, choice.scale))
        return ResolvedSet(tuple(adapters), tuple(notes))

    def apply(self, adapters: Sequence[tuple[str | AdapterInfo, float]]) -> bool:
        """Make ``adapters`` the set sent with the next requests; True when it changed."""
        chosen = tuple((self.catalog.find(a) if isinstance(a, str) else a, float(s))
                       for a, s in adapters)
        if self.mode == "fixed":
            return False  # the server decides; resolve() already warned about a difference
        if self.mode == "local_only":
            if chosen:
                raise AdapterError(f"Adapters cannot be applied: {self.catalog.note}.")
            return False
        scales = {int(i.content_hash.split(":")[1]): s for i, s in chosen}
        lora = [{"id": int(e["id"]), "scale": scales.get(int(e["id"]), 0.0)}
                for e in self.model.lora_adapters or []]
        changed = chosen != self._requested
        with self.model.lock:
            self.model.request_lora = lora or None
            self._requested = chosen
        return changed

    def close(self) -> None:
        """Stop sending adapters with requests."""
        with self.model.lock:
            self.model.request_lora = None
            self._requested = self._fixed


def _server_info(entry: dict[str, Any]) -> AdapterInfo:
    """An adapter the server loaded, known by its id (the path is on the server's disk)."""
    path = Path(str(entry.get("path") or f"adapter-{entry['id']}"))
    return AdapterInfo(name=path.stem, path=path, size_bytes=0, mtime_ns=0,
                       content_hash=f"server:{int(entry['id'])}:{path}", compatible=True)


def _fixed_info(name: str) -> AdapterInfo:
    path = Path(name)
    return AdapterInfo(name=path.stem, path=path, size_bytes=0, mtime_ns=0,
                       content_hash=f"server-fixed:{name}", compatible=True)


def _parse_spec(spec: str) -> tuple[str, float]:
    """``NAME[:SCALE]`` → (name, scale); a bare name means scale 1."""
    name, colon, scale = spec.rpartition(":")
    try:
        return (name, float(scale)) if colon and name else (spec, 1.0)
    except ValueError:
        return spec, 1.0


def _quietly(catalog: ServerAdapterCatalog, name: str) -> AdapterInfo | None:
    try:
        return catalog.find(name)
    except AdapterError:
        return None
