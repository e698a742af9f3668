"""The model manager: the catalogue with fit, installed models, downloads, and the model in use.

Downloaded and imported models live in ``<data>/models``; ``index.json`` there records where
each came from and its per-model settings (context size, GPU layers, system prompt), which are
applied to the settings whenever that model is put in use. The core attaches one manager as
``core.models``; the CLI and the GUI use the same object.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import GpuLayers, Settings, load_settings, save_settings
from assistant.defaults import embedded_chat_model
from assistant.errors import ModelError
from assistant.models import tokens
from assistant.models.catalogue import (
    Catalogue,
    CatalogueEntry,
    Machine,
    gigabytes,
    load_catalogue,
    this_machine,
)
from assistant.models.download import DownloadJob, Progress, hub_endpoint
from assistant.models.errors import DiskFullError
from assistant.models.worker import DISK_MARGIN_BYTES, FetchRequest, partial_stem
from assistant.paths import AppPaths

if TYPE_CHECKING:
    from assistant.models.retrieval_rows import RetrievalRow

INDEX_FILE = "index.json"
BUILTIN = "builtin"  # the row of the demo model that ships inside Loremind
BUILTIN_SUMMARY = ("The small demo model that ships with Loremind: it shows that everything "
                   "works, but its answers are often wrong.")


@dataclass(frozen=True)
class InstalledModel:
    """A model file in Loremind's models folder, and where it came from."""

    name: str
    path: Path
    size_bytes: int
    source: str  # "catalogue" or "import"
    repo: str = ""
    file: str = ""
    sha256: str = ""
    origin: str = ""  # an imported model: the user's file it was linked or copied from
    kind: str = "chat"  # "chat", "embedder" or "reranker" (the catalogue entry's kind)


@dataclass
class ModelProfile:
    """Settings that belong to one model; None keeps the general setting."""

    context_size: int | None = None
    gpu_layers: GpuLayers | None = None
    system_prompt: str | None = None


@dataclass(frozen=True)
class ModelRow:
    """One line of ``models list``: a catalogue entry or an imported model, with its state."""

    name: str
    title: str
    repo: str
    file: str
    size_bytes: int
    params: int | None
    context_length: int | None
    license: str
    gated: bool
    fits: bool
    fit_note: str
    installed: bool
    recommended: bool
    in_use: bool
    partial_bytes: int = 0
    path: str = ""
    summary: str = ""
    source: str = "catalogue"  # "catalogue", "import" or BUILTIN
    origin: str = ""  # an imported model: the user's file it came from ("" when not recorded)
    template_note: str = ""  # a file without a chat template: probably a base model

    def to_json(self) -> dict[str, Any]:
        """The row as plain data for ``--json``."""
        return asdict(self)

    @property
    def is_builtin(self) -> bool:
        """Whether this is the demo model that ships inside Loremind (always there)."""
        return self.source == BUILTIN

    @property
    def deletion_note(self) -> str:
        """What deleting the model really does, said before it is done: an import removes only
        Loremind's link or copy, never the user's own file."""
        if self.source == "import":
            where = f" at {self.origin}" if self.origin else ""
            text = (f"Loremind's copy in its models folder is removed; your original file{where} "
                    "is not touched. Import it again to use it.")
        else:
            text = "You can download it again later."
        if self.in_use:
            text = ("Loremind will answer with the embedded demo model until you choose another. "
                    + text)
        return text


@dataclass
class _Index:
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)


class ModelManager:
    """List, download, import, remove and choose chat models; list and download the retrieval
    models (embedders, rerankers) too."""

    def __init__(self, paths: AppPaths, *,
                 load: Callable[[], Settings] | None = None,
                 save: Callable[[Settings], None] | None = None,
                 machine: Machine | None = None) -> None:
        self.paths = paths
        self._load = load or (lambda: load_settings(paths.config_file))
        self._save = save or (lambda settings: save_settings(settings, paths.config_file))
        self._machine = machine
        self._jobs: dict[str, DownloadJob] = {}
        self._lock = threading.RLock()
        self._notes: dict[tuple[str, int, int], str] = {}  # (path, mtime, size) -> template note

    # -- what there is -------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        return self.paths.models_dir

    @property
    def catalogue(self) -> Catalogue:
        return load_catalogue()

    def machine(self) -> Machine:
        """This computer's memory and GPU, measured once (asking about the GPU loads llama.cpp)."""
        if self._machine is None:
            self._machine = this_machine()
        return self._machine

    def recommended(self) -> CatalogueEntry | None:
        """The catalogue entry Loremind suggests for this machine."""
        return self.catalogue.recommended(self.machine())

    def installed(self) -> list[InstalledModel]:
        """Models in the models folder whose file is still there."""
        index = self._read_index()
        found = []
        for name, item in sorted(index.models.items()):
            path = Path(item["path"])
            if path.is_file():
                found.append(InstalledModel(name, path, path.stat().st_size, item["source"],
                                            item.get("repo", ""), item.get("file", ""),
                                            item.get("sha256", ""), item.get("origin", ""),
                                            item.get("kind", "chat")))
        return found

    def retrieval_rows(self, kind: str) -> list[RetrievalRow]:
        """The catalogue's embedders or rerankers (``kind``), with fit and state."""
        from assistant.models.retrieval_rows import retrieval_rows

        return retrieval_rows(self, kind)

    def rows(self) -> list[ModelRow]:
        """The catalogue with fit and state, then the imported models."""
        machine = self.machine()
        recommended = self.recommended()
        installed = {m.name: m for m in self.installed()}
        using = self.model_in_use()
        rows = []
        for entry in self.catalogue.entries:
            fit = self.catalogue.fit(entry, machine)
            have = installed.get(entry.name)
            note = ({"gpu": "fits on the GPU", "cpu": "fits in RAM"}[fit.device] if fit.fits
                    else fit.reason)
            rows.append(ModelRow(
                entry.name, entry.title, entry.repo, entry.file, entry.size_bytes, entry.params,
                entry.context_length, entry.license, entry.gated, fit.fits, note,
                have is not None, entry is recommended,
                have is not None and have.path.resolve() == using,
                self.partial_bytes(entry), str(have.path) if have else "", entry.summary,
                template_note=self.template_note(have.path) if have else ""))
        for model in installed.values():
            if model.source == "import":
                rows.append(ModelRow(
                    model.name, model.path.name, "", model.path.name, model.size_bytes, None,
                    None, "", False, True, "imported", True, False, model.path.resolve() == using,
                    0, str(model.path), "A GGUF file you imported.", source="import",
                    origin=model.origin, template_note=self.template_note(model.path)))
        return rows

    def builtin_row(self) -> ModelRow | None:
        """The demo model that ships inside Loremind, as a row to go back to; None when this
        installation lacks it."""
        try:
            path = embedded_chat_model()
        except ModelError:
            return None
        using = self.model_in_use()
        return ModelRow(
            BUILTIN, "SmolLM2-135M-Instruct (built-in demo)", "", path.name, path.stat().st_size,
            135_000_000, None, "Apache-2.0", False, True, "built in, always available", True,
            False, using is None or using.name == path.name, path=str(path),
            summary=BUILTIN_SUMMARY, source=BUILTIN, template_note=self.template_note(path))

    def template_note(self, path: Path) -> str:
        """What to say about ``path`` having no chat template ("" when it has one, or when its
        header cannot be read: using it says why). Read once per version of the file, as the
        Models page asks on every refresh."""
        from assistant.engine.gguf_file import read_gguf

        try:
            stat = path.stat()
        except OSError:
            return ""
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        note = self._notes.get(key)
        if note is None:
            try:
                note = read_gguf(path).template_note
            except ModelError:
                note = ""
            self._notes[key] = note
        return note

    def model_in_use(self) -> Path | None:
        """The model file the settings name; None means the embedded demo model."""
        path = self._load().model.path
        return Path(path).expanduser().resolve() if path else None

    def partial_bytes(self, entry: CatalogueEntry) -> int:
        """How much of ``entry`` an interrupted download left (resumed by the next pull)."""
        parts = self.folder / ".partial"
        pattern = f"{partial_stem(entry.repo, entry.file)}.*.part"
        return sum(p.stat().st_size for p in parts.glob(pattern))

    # -- downloading ---------------------------------------------------------------------------

    def pull(self, name: str, on_progress: Callable[[Progress], None] | None = None,
             cancel: threading.Event | None = None) -> InstalledModel | None:
        """Download a catalogue model, verify it and install it; None when cancelled (by
        :meth:`cancel` or by setting ``cancel``).

        Raises a :class:`~assistant.models.errors.DownloadError` when the download fails and
        :class:`ModelError` when the file arrives intact but is not a usable model (it is
        deleted)."""
        entry = self.entry(name)
        done = next((m for m in self.installed() if m.name == entry.name), None)
        if done is not None:
            return done
        self._check_space(entry)
        request = FetchRequest(entry.repo, entry.file, entry.revision, hub_endpoint(),
                               str(self.folder / ".partial"), tokens.get_token())
        job = DownloadJob(request, on_progress, cache_dir=self.paths.cache_dir, cancel=cancel)
        with self._lock:
            if entry.name in self._jobs:
                raise ModelError(f"{entry.title} is already downloading.")
            self._jobs[entry.name] = job
        try:
            fetched = job.run()
        finally:
            with self._lock:
                self._jobs.pop(entry.name, None)
        if fetched is None:
            return None
        target = self.folder / entry.file
        self._check_model(fetched.path, entry.file, entry.kind)
        os.replace(fetched.path, target)
        self._record(entry.name, {"path": str(target), "source": "catalogue", "repo": entry.repo,
                                  "file": entry.file, "sha256": fetched.sha256,
                                  "commit": fetched.commit or "", "installed_at": time.time(),
                                  "kind": entry.kind})
        return InstalledModel(entry.name, target, fetched.size, "catalogue", entry.repo,
                              entry.file, fetched.sha256, kind=entry.kind)

    def cancel(self, name: str) -> bool:
        """Stop the download of ``name``; False when none runs. What arrived stays for a resume."""
        with self._lock:
            job = self._jobs.get(name.strip().lower())
        if job is None:
            return False
        job.cancel()
        return True

    def downloading(self) -> list[str]:
        """Names of the models downloading now."""
        with self._lock:
            return list(self._jobs)

    def entry(self, name: str) -> CatalogueEntry:
        """The catalogue entry ``name``, or a ModelError naming the command that lists them."""
        entry = self.catalogue.get(name)
        if entry is None:
            raise ModelError(f"There is no model called '{name}' in the catalogue. "
                             "'loremind models list' shows them.")
        return entry

    def _check_space(self, entry: CatalogueEntry) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        needed = max(0, entry.size_bytes - self.partial_bytes(entry))
        free = shutil.disk_usage(self.folder).free
        if free < needed + DISK_MARGIN_BYTES:
            raise DiskFullError(
                f"Not enough disk space for {entry.title}: it needs about {gigabytes(needed)} "
                f"and {self.folder} has {gigabytes(free)} free. Free some space and try again.")

    @staticmethod
    def _check_model(path: Path, label: str, kind: str) -> None:
        from assistant.engine.gguf_file import validate_model_file

        try:
            validate_model_file(path, kind)
        except ModelError as exc:
            path.unlink(missing_ok=True)
            raise ModelError(f"{label} downloaded intact but Loremind cannot use it, so it was "
                             f"deleted: {exc}") from exc

    # -- choosing, importing, removing ---------------------------------------------------------

    def resolve(self, name_or_path: str) -> Path:
        """The file an installed model's name or a GGUF path stands for (checked)."""
        from assistant.engine.gguf_file import validate_model_file

        wanted = name_or_path.strip()
        for model in self.installed():
            if model.name == wanted.lower():
                if model.kind != "chat":
                    raise ModelError(f"{model.name} is a{'n' if model.kind == 'embedder' else ''} "
                                     f"{model.kind} for search, not a chat model: it cannot "
                                     "answer. 'loremind models list' shows the chat models.")
                return model.path
        entry = self.catalogue.get(wanted)
        if entry is not None:
            raise ModelError(f"{entry.title} is not downloaded yet: run "
                             f"'loremind models pull {entry.name}' first.")
        path = Path(wanted).expanduser()
        if not path.exists():
            raise ModelError(f"'{wanted}' is neither an installed model nor a file. "
                             "'loremind models list' shows the models you have.")
        return validate_model_file(path).path.resolve()

    def use(self, name_or_path: str) -> Path:
        """Make a model the one in use: write its path (and its own settings) to the settings."""
        path = self.resolve(name_or_path)
        self._save(self.settings_using(path))
        return path

    def settings_using(self, path: Path) -> Settings:
        """A copy of the settings in force with ``path`` as the model, and that model's own
        settings applied (for front ends that save settings their own way)."""
        settings = copy.deepcopy(self._load())
        settings.model.path = str(path)
        self._apply_profile(settings, path)
        return settings

    def use_embedded(self) -> None:
        """Go back to the embedded demo model."""
        settings = copy.deepcopy(self._load())
        settings.model.path = ""
        self._save(settings)

    def import_file(self, source: Path, name: str | None = None) -> InstalledModel:
        """Check a GGUF file and add it to the models folder (hard-linked where possible)."""
        from assistant.engine.gguf_file import validate_model_file

        info = validate_model_file(Path(source).expanduser())
        name = self._free_name(name or info.path.stem)
        target = self.folder / "imported" / info.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target = target.with_name(f"{name}.gguf")
        try:
            os.link(info.path, target)  # same disk: instant, no second copy
        except OSError:
            try:
                shutil.copyfile(info.path, target)
            except OSError as exc:
                target.unlink(missing_ok=True)
                raise ModelError(f"Could not copy {info.path.name} into {target.parent}: "
                                 f"{exc.strerror or exc}.") from exc
        origin = str(info.path.resolve())
        self._record(name, {"path": str(target), "source": "import", "file": info.path.name,
                            "origin": origin, "installed_at": time.time()})
        return InstalledModel(name, target, target.stat().st_size, "import", "", info.path.name,
                              origin=origin)

    def remove(self, name: str) -> InstalledModel:
        """Delete an installed model (and any partial download); the demo takes over if it was
        in use."""
        wanted = name.strip().lower()
        model = next((m for m in self.installed() if m.name == wanted), None)
        entry = self.catalogue.get(wanted)
        if entry is not None:
            for part in (self.folder / ".partial").glob(
                    f"{partial_stem(entry.repo, entry.file)}.*.part"):
                part.unlink(missing_ok=True)
        if model is None:
            raise ModelError(f"No installed model is called '{name}'. "
                             "'loremind models list' shows the models you have.")
        if self.model_in_use() == model.path.resolve():
            self.use_embedded()
        model.path.unlink(missing_ok=True)
        with self._lock:
            index = self._read_index()
            index.models.pop(wanted, None)
            index.profiles.pop(str(model.path), None)
            self._write_index(index)
        return model

    # -- per-model settings --------------------------------------------------------------------

    def profile(self, path: Path) -> ModelProfile:
        """The settings kept for the model at ``path``."""
        raw = self._read_index().profiles.get(str(Path(path).resolve()), {})
        return ModelProfile(**{k: v for k, v in raw.items() if k in ModelProfile.__annotations__})

    def set_profile(self, path: Path, profile: ModelProfile) -> None:
        """Keep ``profile`` for the model at ``path``; applied now if it is in use."""
        key = str(Path(path).resolve())
        with self._lock:
            index = self._read_index()
            index.profiles[key] = {k: v for k, v in asdict(profile).items() if v is not None}
            self._write_index(index)
        if self.model_in_use() == Path(key):
            settings = copy.deepcopy(self._load())
            self._apply_profile(settings, Path(key))
            self._save(settings)

    def _apply_profile(self, settings: Settings, path: Path) -> None:
        profile = self.profile(path)
        if profile.context_size is not None:
            settings.model.context_size = profile.context_size
        if profile.gpu_layers is not None:
            settings.model.gpu_layers = profile.gpu_layers
        if profile.system_prompt is not None:
            settings.generation.system_prompt = profile.system_prompt

    # -- the token for gated models ------------------------------------------------------------

    @staticmethod
    def has_token() -> bool:
        """Whether a Hugging Face token is stored in the keyring."""
        return tokens.get_token() is not None

    @staticmethod
    def set_token(token: str) -> None:
        """Store the Hugging Face token in the system keyring."""
        tokens.set_token(token)

    @staticmethod
    def remove_token() -> bool:
        """Remove the stored token; False when there was none."""
        return tokens.delete_token()

    # -- the index -----------------------------------------------------------------------------

    def _free_name(self, stem: str) -> str:
        base = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-") or "model"
        catalogue = self.catalogue
        taken = (set(self._read_index().models)
                 | {e.name for e in catalogue.entries + catalogue.retrieval} | {BUILTIN})
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        return name

    def _record(self, name: str, item: dict[str, Any]) -> None:
        with self._lock:
            index = self._read_index()
            index.models[name] = item
            self._write_index(index)

    def _read_index(self) -> _Index:
        path = self.folder / INDEX_FILE
        try:
            raw = json.loads(path.read_text("utf-8"))
            return _Index(dict(raw.get("models", {})), dict(raw.get("profiles", {})))
        except FileNotFoundError:
            return _Index()
        except (OSError, ValueError, AttributeError) as exc:
            raise ModelError(f"The list of installed models ({path}) is damaged ({exc}). "
                             "Delete it; the model files stay, import them again.") from exc

    def _write_index(self, index: _Index) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / INDEX_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(index), indent=2), encoding="utf-8")
        tmp.replace(path)
