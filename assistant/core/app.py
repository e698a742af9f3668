"""The application core: one object that owns every part and is all a front end talks to.

``Loremind.open(paths, settings)`` is cheap: nothing heavy is imported or loaded until an
operation needs it, or a front end asks for it early (``load_model`` and ``load_knowledge`` may
run on two threads at once, which is how the GUI starts). The core owns the model, the embedder,
the one database connection (whose write lock is the single write path for every thread and
process), the adapters, the folder watcher and the adapter-folder watcher. Its operations are
grouped by area (``chat``, ``knowledge``, ``memory``, ``adapters``, ``models``, ``settings``);
every mutation returns what changed and announces it on ``changes``.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import TYPE_CHECKING

from assistant.config import Settings, load_settings
from assistant.core.changes import ChangeFeed
from assistant.paths import AppPaths, app_paths

if TYPE_CHECKING:
    from assistant.chat.assistant import Assistant
    from assistant.core.adapters import AdaptersArea
    from assistant.core.chat import ChatArea
    from assistant.core.connections import ConnectionsArea
    from assistant.core.knowledge import KnowledgeArea
    from assistant.core.memory import MemoryArea
    from assistant.core.models import ModelsArea
    from assistant.core.settings import SettingsArea
    from assistant.engine.protocol import ChatEngine
    from assistant.knowledge.embedder import Embedder
    from assistant.store import Store
    from assistant.training.area import TeachArea

log = logging.getLogger(__name__)


class Loremind:
    """The running app, whatever its front end: the GUI, the CLI, the tests."""

    def __init__(self, paths: AppPaths, settings: Settings, *, model: ChatEngine | None = None,
                 embedder: Embedder | None = None, store: Store | None = None) -> None:
        self.paths = paths
        self.changes = ChangeFeed()
        self._settings = settings
        self._given = (model, embedder, store)
        self._parts_lock = threading.Lock()
        self._parts: Assistant | None = None
        self._closed = False
        self._knowledge_loading = threading.Event()  # shared with the parts, see load_knowledge

    @classmethod
    def open(cls, paths: AppPaths | None = None, settings: Settings | None = None, *,
             model: ChatEngine | None = None, embedder: Embedder | None = None,
             store: Store | None = None) -> Loremind:
        """The core for ``paths`` (the platform folders by default) and ``settings`` (read from
        the config file by default). Parts given here are used instead of loading them."""
        paths = (paths or app_paths()).ensure()
        if settings is None:
            settings = load_settings(paths.config_file)
        return cls(paths, settings, model=model, embedder=embedder, store=store)

    # -- areas ---------------------------------------------------------------------------------

    @cached_property
    def chat(self) -> ChatArea:
        """Chats: asking, regenerating, the stored chats."""
        from assistant.core.chat import ChatArea

        return ChatArea(self)

    @cached_property
    def knowledge(self) -> KnowledgeArea:
        """Watched folders, indexing, search."""
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
        from assistant.training.area import TeachArea

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

    def load_model(self) -> None:
        """Load the chat model now (it loads on first use otherwise); raises ModelError."""
        _ = self.parts.model

    def load_knowledge(self) -> None:
        """Open the database and load the embedder now (they load on first use otherwise);
        answers asked meanwhile start without documents and memories rather than wait."""
        self._knowledge_loading.set()
        self.parts.load_knowledge()

    def mark_knowledge_loading(self) -> None:
        """Say, before any thread runs, that ``load_knowledge`` is on its way: an answer asked
        before it starts then does without documents and memories too, instead of loading the
        store and the embedder itself (seconds) and racing the loader."""
        self._knowledge_loading.set()

    @property
    def parts(self) -> Assistant:
        """The parts (each loaded on first use), for the areas of this package only; front ends
        use the areas. Created on first use: importing it pulls in llama.cpp (LanceDB and
        torch come with the store and the embedder)."""
        with self._parts_lock:
            if self._parts is None:
                from assistant.chat.assistant import Assistant

                model, embedder, store = self._given
                self._parts = Assistant(self._settings, self.paths, model=model,
                                        embedder=embedder, store=store,
                                        knowledge_loading=self._knowledge_loading)
            return self._parts

    def close(self) -> None:
        """Stop the watchers and free the model; the core cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        if "knowledge" in self.__dict__:
            self.knowledge.stop_watching()
        if "adapters" in self.__dict__:
            self.adapters.stop_watching()
        if "connections" in self.__dict__:
            self.connections.close()
        if self._parts is not None:
            self._parts.close()
