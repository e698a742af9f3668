"""The adapters area: the LoRA files found, each chat's set, and the folders kept in view.

The adapter folders are watched: a file copied in (or removed, or rewritten) is picked up at
once and announced, so an open Adapters panel shows it without a restart.
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.chat.conversations import ChatSession
from assistant.core.changes import Area, Change
from assistant.engine.adapter_files import (
    AdapterCatalog,
    AdapterInfo,
    adapter_folders,
    inspect_adapter,
)
from assistant.errors import AdapterError
from assistant.store import sql_in
from assistant.wording import plural

if TYPE_CHECKING:
    from assistant.core.app import Loremind

log = logging.getLogger(__name__)
RESCAN_DELAY_S = 0.3  # a copy arrives as several events: rescan once they stop


class AdaptersArea:
    """LoRA adapters, judged against the model in use."""

    def __init__(self, core: Loremind) -> None:
        self._core = core
        self._observer: Any = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._catalog: AdapterCatalog | None = None  # the one the last rescan reported on

    @property
    def folders(self) -> list[Path]:
        """Where adapters are looked for: the data folder's first, then the configured ones."""
        return adapter_folders(self._core.paths, self._core.current_settings.adapters)

    @property
    def engine_note(self) -> str:
        """What adapters can do on a model that runs on a server (switched per request, fixed
        by the server, or local-only); "" for the local engine or before a model is loaded."""
        loaded = self._core.parts.loaded_model
        if loaded is None or loaded.engine_label == "local":
            return ""
        return str(getattr(self._core.parts.adapters.catalog, "note", ""))

    def list(self, model_path: Path | None = None) -> list[AdapterInfo]:
        """Every adapter file found, compatible or not, with the reason when not.

        Judged against the loaded model, or, when it is not loaded (the CLI) or another one is
        named, against that model file's header: llama.cpp is not loaded for this."""
        loaded = self._core.parts.loaded_model
        if model_path is None and loaded is not None:
            catalog = self._core.parts.adapters.catalog
            catalog.refresh()
            return catalog.adapters
        return AdapterCatalog(self.folders, self._core.models.header(model_path)).adapters

    def inspect(self, file: Path, model_path: Path | None = None) -> AdapterInfo:
        """Everything an adapter file says about itself, and whether it fits the model."""
        return inspect_adapter(file, self._core.models.header(model_path))

    def rescan(self) -> Change | None:
        """Notice adapter files added, changed or removed; announces and returns the change
        (None when nothing changed, or no model is loaded to judge them against)."""
        if self._core.parts.loaded_model is None:
            return None
        catalog = self._core.parts.adapters.catalog
        changes = catalog.refresh()
        if catalog is not self._catalog:  # new (first use, another model): all of it is news
            self._catalog = catalog
            names = [i.name for i in catalog.adapters]
        else:
            names = [i.name for i in (*changes.added, *changes.changed, *changes.removed)]
        if not names:
            return None
        return self._core.changes.publish(Change(Area.ADAPTERS, "rescanned", tuple(names)))

    def find(self, name: str, model_path: Path | None = None) -> AdapterInfo:
        """The adapter file called ``name`` (or the only one whose name starts with it);
        AdapterError when none or several are."""
        return AdapterCatalog(self.folders, self._core.models.header(model_path)).find(name)

    def served(self) -> tuple[str, str, builtins.list[AdapterInfo]]:
        """When the model runs on a server: (what the server can do with adapters, how it
        switches them, the adapters it offers). Connects to the server; says so when it is
        unreachable (ModelError)."""
        from assistant.engine.remote import RemoteModel
        from assistant.engine.remote_adapters import RemoteAdapters

        settings = self._core.current_settings.model.remote
        model = RemoteModel.connect(settings)
        try:
            served = RemoteAdapters.for_model(model, settings)
        finally:
            model.close()
        note = f"This model runs on {model.engine_label}: {served.catalog.note}."
        return note, served.mode, list(served.catalog.adapters)

    def delete(self, adapter: Path, open_chats: Sequence[ChatSession] = ()) -> Change:
        """Delete an adapter file and its card, and take it out of the chats' sets: the stored
        chats' and those of ``open_chats`` (a front end's chats in memory), so that no chat
        warns later that it is gone. Announced."""
        from assistant.training.card import delete_adapter

        delete_adapter(adapter)
        stored = self._drop_from_stored_chats(adapter)
        for session in open_chats:
            session.adapters = [a for a in session.adapters if not _is(a, adapter)]
        log.info("Deleted the adapter %s and its card; %s used it", adapter,
                 plural(stored, "stored chat"))
        return self._core.changes.publish(Change(Area.ADAPTERS, "deleted", (adapter.stem,)))

    def _drop_from_stored_chats(self, adapter: Path) -> int:
        """Take ``adapter`` out of the stored chats' sets; how many used it. Their rows are
        written back as they were but for the set, so each chat keeps its times (it was not
        used) - and the store is all this needs, not the embedder the chats' search loads."""
        from assistant.chat.tables import SESSIONS

        store = self._core.parts.store
        if store.read_only_reason:  # another machine's chats: they warn that it is gone
            return 0
        with store.writing():
            sets = store.rows(SESSIONS.name, columns=["id", "adapters"])
            ids = [row["id"] for row in sets if any(_is(c, adapter) for c in _choices(row))]
            rows = store.rows(SESSIONS.name, where=sql_in("id", ids)) if ids else []
            store.upsert(SESSIONS.name, [
                {**row, "adapters": json.dumps([c for c in _choices(row) if not _is(c, adapter)])}
                for row in rows])
        return len(rows)

    def set_for_chat(self, session: ChatSession,
                     adapters: Sequence[tuple[str, float]]) -> Change:
        """Choose a chat's adapters (name, scale), applied from its next answer; raises
        AdapterError for an unknown or incompatible one."""
        from assistant.engine.adapters import AdapterSet

        library = self._core.parts.adapters
        chosen = [(library.catalog.find(name), float(scale)) for name, scale in adapters]
        for info, _ in chosen:
            if not info.compatible:
                raise AdapterError(f"{info.path.name} cannot be used with this model: "
                                   f"{info.reason}.")
        session.adapters = AdapterSet.of(chosen).to_list()
        if not session.temporary and session.messages:
            self._core.parts.conversations.save_session(session)
        return self._core.changes.publish(Change(Area.ADAPTERS, "chosen", (session.id,)))

    # -- watching the folders ------------------------------------------------------------------

    def start_watching(self) -> None:
        """Rescan whenever a file in an adapter folder changes (the data folder's is created)."""
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        area = self

        class _Changed(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("created", "modified", "moved", "deleted", "closed"):
                    area._rescan_soon()

        self.stop_watching()
        self._core.paths.data_dir.joinpath("adapters").mkdir(parents=True, exist_ok=True)
        observer = Observer()
        for folder in self.folders:
            if folder.is_dir():
                observer.schedule(_Changed(), str(folder), recursive=True)
        observer.name = "loremind-adapter-events"
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop_watching(self) -> None:
        """Stop following the adapter folders."""
        with self._lock:
            observer, self._observer = self._observer, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if observer is not None:
            observer.stop()
            observer.join(5)

    def _rescan_soon(self) -> None:
        with self._lock:
            if self._observer is None:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(RESCAN_DELAY_S, self._queue_rescan)
            self._timer.name = "loremind-adapter-debounce"
            self._timer.daemon = True
            self._timer.start()

    def _queue_rescan(self) -> None:
        """The events stopped: rescan on the model lane, where the adapters are applied."""
        from assistant.core.scheduler import Lane

        try:
            self._core.scheduler.submit(self._rescan_quietly, owner="adapters",
                                        title="Looking for adapters", lane=Lane.MODEL,
                                        unique=True)
        except RuntimeError:
            pass  # the core is closing

    def _rescan_quietly(self) -> None:
        try:
            self.rescan()
        except Exception:  # one file it cannot read must not stop the rescans
            log.exception("Rescanning the adapter folders failed")


def _is(choice: dict[str, Any], adapter: Path) -> bool:
    """Whether a chat's stored choice is the file ``adapter``."""
    return str(choice.get("path", "")) == str(adapter)


def _choices(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A stored chat's adapter set (none, when the column cannot be read: the chat's own
    reading reports that)."""
    try:
        choices = json.loads(row["adapters"] or "[]")
    except ValueError:
        return []
    return [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []
