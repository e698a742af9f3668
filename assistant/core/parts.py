"""The parts of one running Loremind, built once by the core and loaded on first use.

The chat model, the embedder, the database, the adapters, the memory book and the stored chats
each load lazily under their own lock, so that the model and the knowledge (database and
embedder) can load on two lanes at once at start-up. Only the core's areas use this object;
front ends go through the areas.

The embedder is the one the index's vectors are from (:mod:`assistant.core.embedders`): the one
the settings name, except while a switch to another rebuilds the index, which then swaps it in
(:meth:`Parts.replace_embedder`). The reranker follows ``[knowledge] reranker``.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import TYPE_CHECKING

from assistant.chat.starting import StartingAnswers
from assistant.config import Settings
from assistant.paths import AppPaths

# llama.cpp comes with the engine, LanceDB with the store and the memory book, torch with the
# embedder: each is imported where it is first used, so that opening the core costs nothing and
# a first answer (which may do without documents while they load) needs only llama.cpp.
if TYPE_CHECKING:
    from assistant.chat.conversations import Conversations
    from assistant.core.scheduler import Scheduler
    from assistant.engine.adapters import AdapterLibrary
    from assistant.engine.protocol import ChatEngine
    from assistant.engine.remote_adapters import RemoteAdapters
    from assistant.knowledge.embedding import TextEmbedder
    from assistant.knowledge.reranker import LlamaReranker
    from assistant.memory.book import MemoryBook
    from assistant.store import Store

log = logging.getLogger(__name__)
# The longest the store and the embedder wait for a first answer's first token at start-up
# (a long chat's prompt can take that long on a slow machine; the next answers need them).
FIRST_TOKEN_HEAD_START_S = 10.0


class Parts:
    """Owns the model, the embedder and the store for one core; loads them lazily."""

    def __init__(self, settings: Settings, paths: AppPaths, scheduler: Scheduler, *,
                 model: ChatEngine | None = None, embedder: TextEmbedder | None = None,
                 store: Store | None = None) -> None:
        self.settings = settings
        self.paths = paths
        self.scheduler = scheduler
        self._model = model
        self._embedder = embedder
        self._store = store
        self._model_given = model is not None  # whoever lent a part frees it, not the core
        if store is not None:
            store.on_maintenance_due = self.schedule_maintenance
        self._adapters: AdapterLibrary | RemoteAdapters | None = None
        self._reranker: tuple[str, LlamaReranker | None] = ("", None)  # its setting, and it
        # One lock per part, so that the model and the embedder can load in parallel.
        self._model_lock = threading.Lock()
        self._embedder_lock = threading.Lock()
        self._store_lock = threading.Lock()
        self._reranker_lock = threading.Lock()
        # Set while the store and the embedder load on another lane (load_knowledge), or from
        # when a front end says they will: answers asked meanwhile do without documents and
        # memories instead of loading them themselves.
        self.knowledge_loading = threading.Event()
        self.starting = StartingAnswers()

    # -- the parts -----------------------------------------------------------------------------

    @property
    def model(self) -> ChatEngine:
        with self._model_lock:
            if self._model is None:
                from assistant.engine.factory import open_engine

                self._model = open_engine(self.settings.model, seed=self.settings.generation.seed)
            return self._model

    @property
    def loaded_model(self) -> ChatEngine | None:
        """The model if it is loaded (None while it loads, or when it failed): never loads it."""
        return self._model

    @property
    def embedder(self) -> TextEmbedder:
        """The embedder of the index's vectors (opening the store to ask which it is)."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = self._open_embedder()
            return self._embedder

    @property
    def loaded_embedder(self) -> TextEmbedder | None:
        """The embedder if it is loaded: never loads it."""
        return self._embedder

    @property
    def reranker(self) -> LlamaReranker | None:
        """The reranker ``[knowledge] reranker`` names, loaded on first use and again when the
        setting changes; None when it names none (nothing is loaded then)."""
        wanted = self.settings.knowledge.reranker.strip()
        with self._reranker_lock:
            if self._reranker[0] != wanted:
                from assistant.models.retrieval_files import open_reranker

                self._reranker = (wanted, open_reranker(self.settings.knowledge, self.paths))
            return self._reranker[1]

    @property
    def store(self) -> Store:
        with self._store_lock:
            if self._store is None:
                self._store = self._open_store()
            return self._store

    @property
    def loaded_store(self) -> Store | None:
        """The store if it is open: never opens it."""
        return self._store

    @property
    def adapters(self) -> AdapterLibrary | RemoteAdapters:
        """The LoRA adapters of the loaded model (created on first use)."""
        model = self.model
        with self._model_lock:
            if self._adapters is None or self._adapters.model is not model:
                from assistant.engine.factory import open_adapters

                self._adapters = open_adapters(model, self.paths, self.settings.adapters,
                                               self.settings.model)
            return self._adapters

    @property
    def adapters_in_use(self) -> bool:
        """Whether any chat has switched adapters on the loaded model yet."""
        return self._adapters is not None

    @cached_property
    def memory(self) -> MemoryBook:
        from assistant.memory.book import MemoryBook

        return MemoryBook(self.store, self.embedder)

    @cached_property
    def conversations(self) -> Conversations:
        from assistant.chat.conversations import Conversations

        return Conversations(self.store, self.embedder)

    @property
    def warming(self) -> bool:
        """Whether the embedder is still loading on another lane (an answer then does without
        documents and memories rather than wait for torch)."""
        return self.knowledge_loading.is_set() and self._embedder is None

    # -- loading and switching -----------------------------------------------------------------

    def load_knowledge(self) -> None:
        """Open the store and load the embedder now (the app does it on a lane at start-up); an
        answer asked meanwhile starts at once, without documents and memories, instead of
        waiting some seconds for torch to import."""
        self.knowledge_loading.set()
        try:
            # A model loading now goes first, and so does an answer reading its prompt:
            # importing LanceDB and torch takes seconds of CPU, and on a small machine it would
            # slow down the model and the first answer it is for.
            with self._model_lock:
                pass
            self.starting.wait(FIRST_TOKEN_HEAD_START_S)
            _ = self.store
            _ = self.embedder
        finally:
            self.knowledge_loading.clear()

    def replace_embedder(self, embedder: TextEmbedder) -> None:
        """Embed with ``embedder`` from now on (the index was rebuilt with it): the memory book
        and the stored chats too. The old one is freed once nothing holds it."""
        with self._embedder_lock:
            self._embedder = embedder
        for part in ("memory", "conversations"):
            if part in self.__dict__:
                self.__dict__[part].embedder = embedder

    def replace_model(self, model: ChatEngine) -> None:
        """Switch to another loaded model (the settings changed); the old one is freed."""
        with self._model_lock:
            old, self._model = self._model, model
            library, self._adapters = self._adapters, None
            lent, self._model_given = self._model_given, False
        if library is not None:
            library.close()
        if old is not None and old is not model and not lent:
            old.close()

    def close(self) -> None:
        """Free the model's memory (one the core loaded; a lent one stays its lender's) and
        stop the store's helper thread."""
        with self._model_lock:
            if self._adapters is not None:
                self._adapters.close()
                self._adapters = None
            if self._model is not None and not self._model_given:
                self._model.close()
            self._model = None
        if self._store is not None:
            self._store.close()

    def _open_embedder(self) -> TextEmbedder:
        """The embedder the store's vectors are from; for a store with none yet, the one the
        settings name (the built-in when that one cannot be used), recorded as its embedder."""
        from assistant.core.embedders import adopt_embedder, index_embedder, resolve_embedder
        from assistant.errors import ModelError

        store = self.store
        wanted = self.settings.knowledge.embedder
        source = index_embedder(store, wanted)
        try:
            choice = resolve_embedder(wanted if source is None else source, self.paths)
        except ModelError as exc:
            if source is not None:
                raise
            log.warning("%s The built-in embedder is used instead.", exc)
            choice = resolve_embedder("", self.paths)
        embedder = choice.open()
        if source is None and not store.read_only_reason:
            adopt_embedder(store, choice, embedder.dim)
        return embedder

    def _open_store(self) -> Store:
        from assistant.database import open_app_database
        from assistant.knowledge.folders import purge_unconfigured

        store = open_app_database(self.paths, self.settings.store)
        # Upkeep is low-priority work on the background lane, never inline in a write.
        store.on_maintenance_due = self.schedule_maintenance
        if not store.read_only_reason:
            # Documents of folders no longer watched (removed while an older version indexed
            # them) are dropped, so a store left behind heals when it opens.
            purged = purge_unconfigured(store, self.settings.knowledge.folders)
            if purged:
                log.info("Dropped %d documents of folders that are no longer watched", purged)
        return store

    def schedule_maintenance(self) -> None:
        """Compact the database and fold new rows into its indexes, as low-priority background
        work (once: a request while one waits is the same job)."""
        from assistant.core.scheduler import Lane, Priority

        store = self._store
        if store is None:
            return
        try:
            self.scheduler.submit(store.maintain, owner="maintenance", title="Compacting",
                                  lane=Lane.BACKGROUND, priority=Priority.IDLE, unique=True)
        except RuntimeError:
            pass  # the core is closing: the next run compacts
