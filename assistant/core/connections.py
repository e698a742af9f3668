"""The connections area: other apps using the user's documents, memories and model, under the
user's control.

The user registers each app (``register`` returns its token, shown once), chooses what it may
do, switches it off, and reads or clears the audit trail; the GUI and the CLI do all of that
here. The servers (``assistant.connect``: MCP over stdio and HTTP, the OpenAI-compatible API)
call the operations below with the app that called them: each is checked against the app as it
is registered now and against the switch in Settings, and recorded in the audit trail, refusals
included. Other apps never store a chat and never write a memory: a proposed memory waits for
the user's approval, whatever the memory mode.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import numpy as np

from assistant.chat.answering import AskOptions
from assistant.chat.conversations import ChatMessage, ChatSession
from assistant.chat.events import Done, Event, Failed, MemoriesUsed, Sources
from assistant.config import ConnectSettings, load_settings
from assistant.connections.audit import AuditEntry, AuditTrail, Outcome
from assistant.connections.clients import Client, ClientRegistry, Permissions
from assistant.connections.limits import (
    MAX_EMBED_CHARS,
    MAX_EMBED_INPUTS,
    MAX_MEMORY_CHARS,
    MAX_QUERY_CHARS,
    MAX_RESULTS,
    count_argument,
    text_argument,
)
from assistant.connections.questions import EMBEDDING_MODEL, MODEL_NAME, AppQuestion, adapters_of
from assistant.core.changes import Area, Change
from assistant.engine.model import SamplingParams
from assistant.errors import (
    BadCallError,
    ConfigError,
    LoremindError,
    NotPermittedError,
    TooLargeError,
)
from assistant.statuses import FinishReason, MemoryStatus

if TYPE_CHECKING:
    from assistant.core.app import Loremind
    from assistant.knowledge.overview import FolderOverview
    from assistant.knowledge.search import SearchResult
    from assistant.memory.book import Memory

log = logging.getLogger(__name__)
T = TypeVar("T")
WHAT = {"search": "search your documents", "chat": "ask the model",
        "embeddings": "embed texts"}
QUERY_IN_TRAIL_CHARS = 80
# all-MiniLM-L6-v2: a memory about the question scores 0.3 and more; unrelated pairs mostly
# stay below (the chat's own prompt takes 0.10, missing fewer of the memories it needs).
APP_MEMORY_RELEVANCE = 0.3


@dataclass(frozen=True)
class Embeddings:
    """Vectors for an app's texts (one row each, unit length) and the word pieces read."""

    vectors: np.ndarray
    tokens: int


class ConnectionsArea:
    """Registered apps, what each may do, the audit trail, and the calls apps make."""

    def __init__(self, core: Loremind) -> None:
        self._core = core
        self._lock = threading.Lock()
        self._registry: ClientRegistry | None = None
        self._trail: AuditTrail | None = None
        self._file_settings: tuple[float, ConnectSettings] | None = None

    @property
    def _clients(self) -> ClientRegistry:
        with self._lock:
            if self._registry is None:
                self._registry = ClientRegistry(self._core.parts.store)
            return self._registry

    @property
    def _audit(self) -> AuditTrail:
        with self._lock:
            if self._trail is None:
                self._trail = AuditTrail(self._core.parts.store)
            return self._trail

    # -- the switch ----------------------------------------------------------------------------

    @property
    def settings(self) -> ConnectSettings:
        """The Connections settings in force, read again when the settings file changed: a
        ``loremind mcp`` started by another app stops serving when the user switches off."""
        path = self._core.paths.config_file
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return self._core.current_settings.connect
        cached = self._file_settings
        if cached is None or cached[0] != mtime:
            try:
                cached = (mtime, load_settings(path).connect)
            except ConfigError:
                log.warning("The settings file is unreadable; Connections keep their settings")
                cached = (mtime, self._core.current_settings.connect)
            self._file_settings = cached
        return cached[1]

    @property
    def enabled(self) -> bool:
        """Whether other apps may use Loremind at all (Settings → Connections)."""
        return self.settings.enabled

    def switch(self, on: bool) -> Change:
        """Let other apps in, or keep them all out (saved in the settings)."""
        current = self._core.current_settings
        connect = dataclasses.replace(current.connect, enabled=on)
        self._core.settings.update(dataclasses.replace(current, connect=connect))
        return self._changed("switched on" if on else "switched off")

    # -- the apps, under the user's control ----------------------------------------------------

    def clients(self) -> list[Client]:
        """Every registered app, by name."""
        return self._clients.list()

    def client(self, name_or_id: str) -> Client:
        """One registered app, by name or id."""
        return self._clients.get(name_or_id)

    def register(self, name: str, permissions: Permissions | None = None
                 ) -> tuple[Client, str]:
        """Register an app; returns it and its token (shown once: the keyring keeps it)."""
        client, token = self._clients.register(name, permissions or Permissions())
        self._changed("registered", client.id)
        return client, token

    def set_permissions(self, client_id: str, permissions: Permissions) -> Change:
        """Change what an app may do, from its next call."""
        return self._changed("permissions",
                             self._clients.update(client_id, permissions=permissions).id)

    def set_enabled(self, client_id: str, enabled: bool) -> Change:
        """Switch one app on or off (off: every call is refused)."""
        return self._changed("enabled" if enabled else "disabled",
                             self._clients.update(client_id, enabled=enabled).id)

    def renew_token(self, client_id: str) -> str:
        """A new token for an app (the old one stops working); shown once."""
        token = self._clients.renew_token(client_id)
        self._changed("new token", client_id)
        return token

    def remove(self, client_id: str) -> Change:
        """Forget an app and its token; its audit trail stays until cleared."""
        return self._changed("removed", self._clients.remove(client_id).id)

    def audit(self, client_id: str | None = None, limit: int = 500) -> list[AuditEntry]:
        """The latest calls first, of one app or of all."""
        return self._audit.entries(client_id, limit)

    def clear_audit(self, client_id: str | None = None) -> Change:
        """Erase the audit trail (of one app, or all of it) for good."""
        self._audit.clear(client_id)
        return self._changed("audit cleared", *((client_id,) if client_id else ()))

    # -- what apps do --------------------------------------------------------------------------

    def authenticate(self, token: str) -> Client:
        """The registered app this token belongs to; raises UnknownTokenError, or
        NotPermittedError when Connections or the app are switched off (recorded)."""
        return self._admit(self._clients.authenticate(token), "connect")

    def search(self, client: Client, query: Any, k: Any = 5) -> list[SearchResult]:
        """Passages of the documents the app may search that best answer ``query``."""
        current = self._admit(client, "search", tool="search")
        query = self._checked(current, "search", text_argument, "query", query, MAX_QUERY_CHARS)
        k = self._checked(current, "search", count_argument, "k", k, 1, MAX_RESULTS)
        folders = current.permissions.folders
        results = self._core.knowledge.search(query, k, [Path(f) for f in folders or ()])
        paths = sorted({r.path for r in results})
        self._audit.record(current, "search", "ok",
                           f"searched your documents for “{_clip(query)}” and read "
                           f"{_count(len(results), 'passage')}", len(results), paths)
        return results

    def folders(self, client: Client) -> list[FolderOverview]:
        """The watched folders the app may search, with their documents by status."""
        current = self._admit(client, "folders", tool="search")
        allowed = current.permissions.folders
        shown = [f for f in self._core.knowledge.overview()
                 if allowed is None or _within(f.folder, allowed)]
        self._audit.record(current, "folders", "ok",
                           f"read the list of your folders ({_count(len(shown), 'folder')})",
                           len(shown), [f.folder for f in shown])
        return shown

    def memories(self, client: Client) -> list[Memory]:
        """Every active memory, for an app that may read them."""
        current = self._admit(client, "memory_list", read=True)
        found = self._core.memory.list(MemoryStatus.ACTIVE)
        self._audit.record(current, "memory_list", "ok",
                           f"read your memory list ({_count(len(found), 'memory')})",
                           len(found), [m.id for m in found])
        return found

    def relevant_memories(self, client: Client, question: Any, k: Any = 8) -> list[Memory]:
        """The memories that bear on ``question`` (pinned ones too), at most ``k``."""
        current = self._admit(client, "memories", read=True)
        question = self._checked(current, "memories", text_argument, "question", question,
                                 MAX_QUERY_CHARS)
        k = self._checked(current, "memories", count_argument, "k", k, 1, MAX_RESULTS)
        # Another app gets the pinned memories and those clearly about its question, fewer
        # than a chat's own prompt gets: what leaves Loremind should be no more than needed.
        found = self._core.parts.memory.relevant(question, limit=k,
                                                 threshold=APP_MEMORY_RELEVANCE)[:k]
        self._audit.record(current, "memories", "ok",
                           f"read {_count(len(found), 'memory')} about “{_clip(question)}”",
                           len(found), [m.id for m in found])
        return found

    def propose_memory(self, client: Client, text: Any) -> Memory | None:
        """Propose ``text`` as a memory, named after the app: it waits for the user's approval
        (always, whatever the memory mode). None when Loremind knows it already."""
        current = self._admit(client, "propose", propose=True)
        text = self._checked(current, "propose", text_argument, "text", text, MAX_MEMORY_CHARS)
        memory = self._core.parts.memory.propose(text, auto_approve=False, source=current.name)
        if memory is None:
            self._audit.record(current, "propose", "ok",
                               f"proposed “{_clip(text)}”, which Loremind knows already")
            return None
        self._audit.record(current, "propose", "ok",
                           f"proposed a memory: “{_clip(text)}” (waiting for you)", 1, [memory.id])
        self._changed_memory(memory.id)
        return memory

    def embed(self, client: Client, texts: Any) -> Embeddings:
        """Vectors of ``texts`` from Loremind's embedder (what its index uses)."""
        current = self._admit(client, "embeddings", tool="embeddings")
        if isinstance(texts, str):
            items: list[Any] = [texts]
        elif isinstance(texts, list) and texts:
            items = texts
        else:
            self._refuse(current, "embeddings", BadCallError,
                         "'input' must be a text or a non-empty list of texts.")
        if len(items) > MAX_EMBED_INPUTS:
            self._refuse(current, "embeddings", TooLargeError,
                         f"'input' has {len(items)} texts; Loremind takes at most "
                         f"{MAX_EMBED_INPUTS} per call.")
        checked = [self._checked(current, "embeddings", text_argument, f"input[{n}]", item,
                                 MAX_EMBED_CHARS) for n, item in enumerate(items)]
        embedder = self._core.parts.embedder
        vectors = embedder.encode(checked)
        tokens = sum(embedder.count_tokens(checked))
        self._audit.record(current, "embeddings", "ok",
                           f"embedded {_count(len(checked), 'text')}", len(checked))
        return Embeddings(vectors, tokens)

    def models(self, client: Client) -> list[str]:
        """The model names an app can ask for: the model in use, with each adapter that fits
        it, and the embedder."""
        current = self._admit(client, "models")
        names = []
        if current.permissions.may("chat"):
            names = [MODEL_NAME, *(f"{MODEL_NAME}:{a.name}" for a in self._core.adapters.list()
                                   if a.compatible)]
        if current.permissions.may("embeddings"):
            names.append(EMBEDDING_MODEL)
        return names

    def ask(self, client: Client, question: AppQuestion) -> Iterator[Event]:
        """Answer an app's chat request with the model in use, as a temporary chat (nothing
        stored, nothing proposed) that may cite the documents and use the memories this app
        may read: events ending in Done or Failed, recorded when the answer ends."""
        current = self._admit(client, "chat", tool="chat")
        # One chat per app: its conversation's cached prompt is found again next time.
        session = ChatSession(id=f"app-{current.id}", title=current.name, temporary=True)
        session.messages = [ChatMessage(role, text) for role, text in question.history]
        try:
            adapters = adapters_of(question.model)
            if adapters:
                self._core.adapters.set_for_chat(session, adapters)
        except LoremindError as exc:
            self._audit.record(current, "chat", "refused", f"was refused: {exc}")
            raise
        return self._answered(current, question, self._core.chat.ask(
            session, question.question, self._options(current, question)))

    def close(self) -> None:
        """Write the audit trail's last calls and stop its thread."""
        if self._trail is not None:
            self._trail.close()

    # -- internals -----------------------------------------------------------------------------

    def _options(self, client: Client, question: AppQuestion) -> AskOptions:
        permissions, connect = client.permissions, self.settings
        folders = permissions.folders
        generation = self._core.current_settings.generation
        base = SamplingParams.from_settings(generation)
        sampling = dataclasses.replace(
            base, temperature=_chosen(question.temperature, base.temperature),
            top_p=_chosen(question.top_p, base.top_p),
            max_tokens=_chosen(question.max_tokens, base.max_tokens))
        return AskOptions(
            use_knowledge=(question.knowledge and connect.knowledge and permissions.may("search")
                           and folders != ()),
            use_memory=(question.memory and not question.temporary and connect.memory
                        and permissions.read_memories),
            knowledge_folders=list(folders) if folders else None,
            system_prompt=question.system_prompt, sampling=sampling, cancel=question.cancel,
            temporary_reads_memory=True)

    def _answered(self, client: Client, question: AppQuestion,
                  events: Iterator[Event]) -> Iterator[Event]:
        """Pass the answer's events on; record the call when it ends, however it ends."""
        sources: list[str] = []
        used: list[str] = []
        outcome: Outcome = "stopped"  # the app went away before the answer ended
        ending = ""
        try:
            for event in events:
                if isinstance(event, Sources):
                    sources = sorted({c.path for c in event.citations})
                elif isinstance(event, MemoriesUsed):
                    used = [m.id for m in event.memories]
                elif isinstance(event, Done):
                    cancelled = event.stats.finish_reason == FinishReason.CANCELLED
                    outcome = "stopped" if cancelled else "ok"
                elif isinstance(event, Failed):
                    outcome, ending = "failed", f" (failed: {event.message})"
                yield event
        finally:
            if isinstance(events, Generator):  # left early: the answer ends here, not at GC
                events.close()
            stopped = " (stopped before the end)" if outcome == "stopped" else ""
            self._audit.record(
                client, "chat", outcome,
                f"asked “{_clip(question.question)}”; the answer used "
                f"{_count(len(sources), 'document')} and {_count(len(used), 'memory')}"
                f"{stopped}{ending}", len(used), [*sources, *used])

    def _admit(self, client: Client, action: str, *, tool: str | None = None,
               read: bool = False, propose: bool = False) -> Client:
        """The app as registered now, when Connections, the app and its permissions allow the
        call; a refusal is recorded and raised as NotPermittedError."""
        current = self._clients.refreshed(client)
        permissions = current.permissions
        reason = ""
        if not self.enabled:
            reason = ("Connections are off in Loremind: the user can turn them on in Settings "
                      "→ Connections (or `loremind connect on`).")
        elif not current.enabled:
            reason = f"{current.name} is switched off in Loremind → Connections."
        elif tool is not None and (not permissions.may(tool) or
                                   (tool == "search" and permissions.folders == ())):
            reason = f"Loremind does not let {current.name} {WHAT[tool]}."
        elif (read or propose) and self._core.memory.paused:
            reason = "Memory is paused in Loremind: no app reads or proposes memories now."
        elif read and not permissions.read_memories:
            reason = f"Loremind does not let {current.name} read your memories."
        elif propose and not permissions.propose_memories:
            reason = f"Loremind does not let {current.name} propose memories."
        if reason:
            self._refuse(current, action, NotPermittedError, reason,
                         hint=" The user can change that in Settings → Connections."
                         if "does not let" in reason else "")
        return current

    def _checked(self, client: Client, action: str, check: Any, *args: Any) -> Any:
        """``check(*args)``; a refused argument is recorded before it is raised."""
        try:
            return check(*args)
        except LoremindError as exc:
            self._audit.record(client, action, "refused", f"was refused: {exc}")
            raise

    def _refuse(self, client: Client, action: str, kind: type[LoremindError], message: str,
                hint: str = "") -> NoReturn:
        """Record the refusal (its reason) and raise it (with ``hint`` for the app)."""
        self._audit.record(client, action, "refused", f"was refused: {message}")
        raise kind(message + hint)

    def _changed_memory(self, memory_id: str) -> None:
        self._core.changes.publish(Change(Area.MEMORY, "proposed", (memory_id,)))

    def _changed(self, action: str, *ids: str) -> Change:
        return self._core.changes.publish(Change(Area.CONNECTIONS, action, ids))


def _chosen(value: T | None, default: T) -> T:
    return default if value is None else value


def _within(folder: str, allowed: Sequence[str]) -> bool:
    path = Path(folder)
    return any(path == Path(a) or Path(a) in path.parents for a in allowed)


def _count(n: int, noun: str) -> str:
    plural = {"memory": "memories", "passage": "passages", "document": "documents",
              "folder": "folders", "text": "texts"}[noun]
    return f"{n} {noun if n == 1 else plural}"


def _clip(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= QUERY_IN_TRAIL_CHARS else line[:QUERY_IN_TRAIL_CHARS - 1] + "…"
