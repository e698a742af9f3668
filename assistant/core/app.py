"""The application core: the one composition root, and all a front end talks to.

``Loremind.open()`` is what every front end calls (the GUI, the CLI, the benchmarks that time
the user's path): it puts the process offline, makes the folders, starts the log, reads the
settings, and builds the core. Building it is cheap: nothing heavy is imported or loaded until
an operation needs it, or a front end asks for it early (:meth:`Loremind.start_loading`, which
is how the GUI starts). The core owns the parts (model, embedder, the one database connection,
adapters: :class:`~assistant.core.parts.Parts`), the scheduler that runs every piece of
background work, and the watchers; its operations are grouped by area (``chat``, ``knowledge``,
``memory``, ``adapters``, ``models``, ``settings``, ``teach``, ``storage``); every mutation
returns what changed and announces it on ``changes``, and every job on ``scheduler``.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from functools import cached_property
from typing import TYPE_CHECKING

from assistant.config import Settings, load_settings
from assistant.core.changes import ChangeFeed
from assistant.core.scheduler import Job, Lane, Scheduler
from assistant.errors import LoremindError
from assistant.paths import AppPaths, app_paths

if TYPE_CHECKING:
    from assistant.core.adapters import AdaptersArea
    from assistant.core.chat import ChatArea
    from assistant.core.connections import ConnectionsArea
    from assistant.core.knowledge import KnowledgeArea
    from assistant.core.memory import MemoryArea
    from assistant.core.models import ModelsArea
    from assistant.core.parts import Parts
    from assistant.core.settings import SettingsArea
    from assistant.core.storage import StorageArea
    from assistant.core.teach import TeachArea
    from assistant.engine.protocol import ChatEngine
    from assistant.knowledge.embedding import TextEmbedder
    from assistant.store import Store

log = logging.getLogger(__name__)

# Cores not closed yet. A process that ends without closing its core (a script that stops
# reading an answer half-way) must not leave llama.cpp decoding on a lane while the
# interpreter frees the model under it: they are closed at exit, before anything is freed.
_open_cores: weakref.WeakSet[Loremind] = weakref.WeakSet()


@atexit.register
def _close_open_cores() -> None:
    for core in list(_open_cores):
        core.close()


class Loremind:
    """The running app, whatever its front end: the GUI, the CLI, the tests."""

    def __init__(self, paths: AppPaths, settings: Settings, *, model: ChatEngine | None = None,
                 embedder: TextEmbedder | None = None, store: Store | None = None) -> None:
        self.paths = paths
        self.changes = ChangeFeed()
        self.scheduler = Scheduler()
        #: What went wrong while opening (settings that could not be read), for the front end
        #: to show; the core then runs on the defaults.
        self.problems: list[LoremindError] = []
        self._settings = settings
        self._given = (model, embedder, store)
        self._parts_lock = threading.Lock()
        self._parts: Parts | None = None
        self._closed = False
        _open_cores.add(self)

    @classmethod
    def open(cls, paths: AppPaths | None = None, settings: Settings | None = None, *,
             model: ChatEngine | None = None, embedder: TextEmbedder | None = None,
             store: Store | None = None, lenient: bool = False) -> Loremind:
        """The core for ``paths`` (the platform folders, or LOREMIND_HOME) and ``settings``
        (read from the config file by default), offline and logging.

        ``lenient`` (the GUI) runs on the default settings when the file cannot be read, and
        keeps the error in ``problems``; otherwise the error is raised. Parts given here are
        used instead of loading them.
        """
        from assistant.defaults import force_offline
        from assistant.logs import setup_logging

        force_offline()
        paths = (paths or app_paths()).ensure()
        setup_logging(paths)
        problems: list[LoremindError] = []
        if settings is None:
            try:
                settings = load_settings(paths.config_file)
            except LoremindError as exc:
                if not lenient:
                    raise
                settings = Settings()
                problems.append(exc)
        core = cls(paths, settings, model=model, embedder=embedder, store=store)
        core.problems.extend(problems)
        return core

    # -- areas ---------------------------------------------------------------------------------

    @cached_property
    def chat(self) -> ChatArea:
        """Chats: answers run for their chat, and the stored chats."""
        from assistant.core.chat import ChatArea

        return ChatArea(self)

    @cached_property
    def knowledge(self) -> KnowledgeArea:
        """Watched folders, indexing jobs, search."""
        from assistant.core.knowledge import KnowledgeArea

        return KnowledgeArea(self)

    @cached_property
    def memory(self) -> MemoryArea:
        """What the assistant remembers, under the user's control."""
        from assistant.core.memory import MemoryArea

        return MemoryArea(self)

    @cached_property
    def adapters(self) -> AdaptersArea:
        """LoRA adapter files and each chat's set."""
        from assistant.core.adapters import AdaptersArea

        return AdaptersArea(self)

    @cached_property
    def teach(self) -> TeachArea:
        """Training adapters from data the user chose, and their cards."""
        from assistant.core.teach import TeachArea

        return TeachArea(self)

    @cached_property
    def models(self) -> ModelsArea:
        """The chat model in use: loading, switching, what this build can do."""
        from assistant.core.models import ModelsArea

        return ModelsArea(self)

    @cached_property
    def connections(self) -> ConnectionsArea:
        """Other apps (MCP, the local API): who may do what, and the audit trail."""
        from assistant.core.connections import ConnectionsArea

        return ConnectionsArea(self)

    @cached_property
    def settings(self) -> SettingsArea:
        """The settings, saved and announced when changed."""
        from assistant.core.settings import SettingsArea

        return SettingsArea(self)

    @cached_property
    def storage(self) -> StorageArea:
        """Where the database is (local or shared), its credentials and the writer role."""
        from assistant.core.storage import StorageArea

        return StorageArea(self)

    @property
    def current_settings(self) -> Settings:
        """The settings in force."""
        return self._settings

    def adopt_settings(self, settings: Settings) -> None:
        """Make ``settings`` the ones in force, without saving them (``settings.update`` saves)."""
        self._settings = settings
        if self._parts is not None:
            self._parts.settings = settings

    # -- loading -------------------------------------------------------------------------------

    def start_loading(self) -> tuple[Job, Job]:
        """Load the model on the model lane while the database and the embedder load on the
        interactive one (what the GUI does at start-up); returns the two jobs. A question
        asked meanwhile is answered without documents and memories, and says so."""
        self.mark_knowledge_loading()
        model = self.scheduler.submit(self.load_model, owner="loading", title="Loading the model",
                                      lane=Lane.MODEL)
        knowledge = self.scheduler.submit(self.load_knowledge, owner="loading",
                                          title="Loading documents and memories",
                                          lane=Lane.INTERACTIVE)
        return model, knowledge

    def load_model(self) -> None:
        """Load the chat model now (it loads on first use otherwise); raises ModelError."""
        _ = self.parts.model

    def load_knowledge(self) -> None:
        """Open the database and load the embedder now (they load on first use otherwise);
        answers asked meanwhile start without documents and memories rather than wait. A
        switch of embedder left half-way then resumes in the background."""
        self.parts.load_knowledge()
        self.knowledge.follow_embedder()

    def mark_knowledge_loading(self) -> None:
        """Say, before any lane runs, that ``load_knowledge`` is on its way: an answer asked
        before it starts then does without documents and memories too, instead of loading the
        store and the embedder itself (seconds) and racing the loader."""
        self.parts.knowledge_loading.set()

    @property
    def parts(self) -> Parts:
        """The parts (each loaded on first use), for the areas of this package only: front
        ends use the areas."""
        with self._parts_lock:
            if self._parts is None:
                from assistant.core.parts import Parts

                model, embedder, store = self._given
                self._parts = Parts(self._settings, self.paths, self.scheduler, model=model,
                                    embedder=embedder, store=store)
            return self._parts

    def close(self) -> None:
        """Stop the watchers and every lane (running work stops at its next checkpoint), and
        free the model; the core cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        _open_cores.discard(self)
        if "knowledge" in self.__dict__:
            self.knowledge.stop_watching()
        if "adapters" in self.__dict__:
            self.adapters.stop_watching()
        if "connections" in self.__dict__:
            self.connections.close()
        self.scheduler.shutdown()
        if self._parts is not None:
            self._parts.close()
