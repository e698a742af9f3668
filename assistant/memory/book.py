"""MemoryBook: what the assistant remembers about the user, always visible, editable, revocable.

Every change appends to ``memory_events`` with who made it, so ``history(id)`` tells the whole
story and ``restore(id)`` can undo the last step. Nothing proposed becomes active silently unless
the user chose auto-approve, and an update to an existing memory is always asked for.
"""

from __future__ import annotations

import builtins
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from assistant.errors import LoremindError
from assistant.knowledge.embedding import TextEmbedder
from assistant.memory.importing import check_export
from assistant.memory.tables import MEMORIES, MEMORY_EVENTS
from assistant.statuses import MemoryStatus
from assistant.store import Store, sql_in, sql_str

# "app": a connected app (over MCP or the local API), named by the memory's ``source``.
Actor = Literal["user", "assistant", "app"]
DUPLICATE_SIMILARITY = 0.9  # this close to an active memory: the same fact again
UPDATE_SIMILARITY = 0.6  # this close but not a duplicate: probably the same topic, changed
# From this cosine a memory goes into a prompt (pinned ones always do). all-MiniLM-L6-v2 tells
# relevance poorly for memories: on 15 questions × 10 memories (17 relevant pairs), 0.10 keeps
# 15 of the 17 ("I live in Lyon" for a dinner question scores 0.12) and sends 40 of the 133
# unrelated pairs instead of all of them; 0.15 keeps only 11, 0.05 sends 76 unrelated. Pin a
# memory that must go into every answer.
MEMORY_RELEVANCE = 0.10
_PAUSED_KEY = "memory_paused"
IMPORT_BATCH = 512  # texts per embedding call during an import, between progress reports
ImportProgress = Callable[[int, int], None]  # (texts embedded, texts in all)
_UNDOABLE = {"approved", "rejected", "edited", "forgotten", "replaced", "pinned", "unpinned",
             "restored"}


class MemoryNotFound(LoremindError):
    """No memory has that id (or the id prefix is ambiguous)."""


class _Record:
    """Conversion between a frozen dataclass and a table row (extra columns are ignored)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Any:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})  # type: ignore

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}  # type: ignore


@dataclass(frozen=True)
class Memory(_Record):
    """One remembered fact or preference, with where it came from."""

    id: str
    text: str
    origin: str
    status: str
    pinned: bool
    replaces: str
    session_id: str
    message_id: str
    created_at: float
    updated_at: float
    source: str = ""  # the connected app that proposed it; "" for the user's own chats


@dataclass(frozen=True)
class MemoryEvent(_Record):
    """One change to a memory: what it was, what it became, who did it, when."""

    id: str
    memory_id: str
    event: str
    old_text: str
    new_text: str
    old_status: str
    new_status: str
    actor: str
    at: float


class MemoryBook:
    """The user's memories in the store; every method is safe to call from any thread."""

    def __init__(self, store: Store, embedder: TextEmbedder) -> None:
        self.store = store
        self.embedder = embedder

    # -- reading -------------------------------------------------------------------------------

    def get(self, memory_id: str) -> Memory:
        """The memory with this id, or the only one whose id starts with it."""
        rows = self.store.rows(MEMORIES.name, where=f"id = {sql_str(memory_id)}")
        if not rows and memory_id:
            rows = [r for r in self.store.rows(MEMORIES.name, columns=_columns())
                    if r["id"].startswith(memory_id)]
        if len(rows) != 1:
            what = "matches several memories" if rows else "matches no memory"
            raise MemoryNotFound(f"'{memory_id}' {what}. List them with: loremind memory list")
        return Memory.from_row(rows[0])

    def list(self, status: MemoryStatus | None = MemoryStatus.ACTIVE) -> list[Memory]:
        """Memories with ``status`` (all when None), pinned first, then newest first."""
        where = f"status = {sql_str(status)}" if status else None
        rows = self.store.rows(MEMORIES.name, where=where, columns=_columns())
        memories = [Memory.from_row(r) for r in rows]
        return sorted(memories, key=lambda m: (not m.pinned, -m.updated_at))

    def search(self, query: str, k: int = 10,
               status: MemoryStatus | None = MemoryStatus.ACTIVE) -> builtins.list[Memory]:
        """Memories that match ``query`` by meaning or by words."""
        where = f"status = {sql_str(status)}" if status else None
        rows = self.store.search_hybrid(MEMORIES.name, self.embedder.encode_query(query), query,
                                        k, where=where, columns=_columns())
        return [Memory.from_row(r) for r in rows]

    def history(self, memory_id: str) -> builtins.list[MemoryEvent]:
        """Every change to this memory, oldest first."""
        rows = self.store.rows(MEMORY_EVENTS.name, where=f"memory_id = {sql_str(memory_id)}")
        # Imports before validation existed could store events with missing fields.
        rows = [{k: ("" if v is None and k != "at" else v) for k, v in r.items()} | {
            "at": r["at"] if r["at"] is not None else 0.0} for r in rows]
        return sorted((MemoryEvent.from_row(r) for r in rows), key=lambda e: e.at)

    def nearest(self, text: str, vector: np.ndarray | None = None) -> tuple[Memory, float] | None:
        """The active memory closest in meaning to ``text``, with its cosine similarity."""
        vector = self.embedder.encode_query(text) if vector is None else vector
        rows = self.store.search_vector(MEMORIES.name, vector, 1,
                                        where=f"status = '{MemoryStatus.ACTIVE}'",
                                        columns=_columns())
        if not rows:
            return None
        return Memory.from_row(rows[0]), 1.0 - float(rows[0]["_distance"])

    def relevant(self, text: str, vector: np.ndarray | None = None, limit: int = 8,
                 threshold: float = MEMORY_RELEVANCE) -> builtins.list[Memory]:
        """Memories to put in a prompt about ``text`` (``vector``: its embedding, when the
        caller has it): the pinned ones, and the closest others at least ``threshold`` close."""
        if self.paused:
            return []
        pinned = [m for m in self.list(MemoryStatus.ACTIVE) if m.pinned]
        vector = self.embedder.encode_query(text) if vector is None else vector
        rows = self.store.search_vector(MEMORIES.name, vector, limit,
                                        where=f"status = '{MemoryStatus.ACTIVE}' AND NOT pinned",
                                        columns=_columns())
        near = [Memory.from_row(r) for r in rows if 1.0 - float(r["_distance"]) >= threshold]
        return pinned + near

    @property
    def paused(self) -> bool:
        """While paused, chats neither use nor propose memories."""
        return self.store.get_meta(_PAUSED_KEY) == "1"

    # -- changing ------------------------------------------------------------------------------

    def pause(self) -> None:
        self.store.set_meta(_PAUSED_KEY, "1")

    def resume(self) -> None:
        self.store.set_meta(_PAUSED_KEY, "0")

    def remember(self, text: str, *, actor: Actor = "user", session_id: str = "",
                 message_id: str = "") -> Memory:
        """Keep ``text`` at once (the user asked); returns an existing near-duplicate instead."""
        text = _clean(text)
        vector = self.embedder.encode_query(text)
        with self.store.writing():
            near = self.nearest(text, vector)
            if near and near[1] >= DUPLICATE_SIMILARITY:
                return near[0]
            return self._create(text, "explicit", MemoryStatus.ACTIVE, vector, actor,
                                session_id, message_id)

    def propose(self, text: str, *, auto_approve: bool = False, session_id: str = "",
                message_id: str = "", source: str = "") -> Memory | None:
        """Suggest ``text`` as a memory. Returns None for a near-duplicate of an active memory;
        one close to an active memory becomes a pending update of it, never applied silently.
        ``source`` names the connected app that proposed it (the "app" actor in its history)."""
        text = _clean(text)
        vector = self.embedder.encode_query(text)
        with self.store.writing():
            near = self.nearest(text, vector)
            if near and near[1] >= DUPLICATE_SIMILARITY:
                return None
            pending = self.store.rows(MEMORIES.name, where=f"status = '{MemoryStatus.PENDING}'",
                                      columns=["text"])
            if any(_same(p["text"], text) for p in pending):
                return None
            replaces = near[0].id if near and near[1] >= UPDATE_SIMILARITY else ""
            status = (MemoryStatus.ACTIVE if auto_approve and not replaces
                      else MemoryStatus.PENDING)
            return self._create(text, "proposed", status, vector,
                                "app" if source else "assistant", session_id, message_id,
                                replaces, source)

    def approve(self, memory_id: str, actor: Actor = "user") -> Memory:
        """Make a pending memory active; an update replaces the memory it updates."""
        with self.store.writing():
            memory = self.get(memory_id)
            if memory.replaces:
                try:
                    old = self.get(memory.replaces)
                except MemoryNotFound:
                    pass  # the user removed it meanwhile: the update simply becomes a memory
                else:
                    self._change(old, "replaced", actor, status=MemoryStatus.FORGOTTEN)
            return self._change(memory, "approved", actor, status=MemoryStatus.ACTIVE)

    def reject(self, memory_id: str, actor: Actor = "user") -> Memory:
        """Decline a proposed memory; it stays in the history, never in prompts."""
        with self.store.writing():
            return self._change(self.get(memory_id), "rejected", actor,
                                status=MemoryStatus.REJECTED)

    def edit(self, memory_id: str, text: str, actor: Actor = "user") -> Memory:
        """Change a memory's text."""
        with self.store.writing():
            return self._change(self.get(memory_id), "edited", actor, text=_clean(text))

    def pin(self, memory_id: str, pinned: bool = True, actor: Actor = "user") -> Memory:
        """Pinned memories go into every prompt."""
        with self.store.writing():
            event = "pinned" if pinned else "unpinned"
            return self._change(self.get(memory_id), event, actor, pinned=pinned)

    def forget(self, memory_id: str, *, permanent: bool = False, actor: Actor = "user") -> None:
        """Stop using a memory (undoable), or erase it and its text from the history for good."""
        with self.store.writing():
            memory = self.get(memory_id)
            if not permanent:
                self._change(memory, "forgotten", actor, status=MemoryStatus.FORGOTTEN)
                return
            self.store.delete(MEMORIES.name, f"id = {sql_str(memory.id)}")
            events = self.history(memory.id)
            scrubbed = [{**e.to_json(), "old_text": "", "new_text": ""} for e in events]
            self.store.upsert(MEMORY_EVENTS.name, scrubbed)
            self._record(memory.id, "purged", "", "", memory.status, "", actor)
            # Deleted rows stay readable in older table versions and compacted-around
            # fragments until those are gone: erase them before saying "erased".
            self.store.purge(MEMORIES.name)
            self.store.purge(MEMORY_EVENTS.name)

    def erase_proposals_from(self, session_id: str) -> int:
        """Erase for good the memories proposed from chat ``session_id`` that were never
        accepted (pending or rejected): its words, which deleting the chat must not leave
        behind. Accepted ones are the user's memories now and stay. Returns how many."""
        statuses = sql_in("status", [MemoryStatus.PENDING, MemoryStatus.REJECTED])
        with self.store.writing():
            rows = self.store.rows(MEMORIES.name, columns=["id"], where=(
                f"session_id = {sql_str(session_id)} AND origin = 'proposed' AND {statuses}"))
            for row in rows:
                self.forget(row["id"], permanent=True, actor="user")
        return len(rows)

    def restore(self, memory_id: str, actor: Actor = "user") -> Memory:
        """Undo the last change to a memory (a forget, an edit, an approval, a rejection …)."""
        with self.store.writing():
            memory = self.get(memory_id)
            last = next((e for e in reversed(self.history(memory.id)) if e.event in _UNDOABLE),
                        None)
            if last is None:
                raise LoremindError(f"Memory {memory.id} has no change to undo.")
            if last.event == "restored":
                return memory  # already undone: restoring again must not undo the undo
            return self._change(memory, "restored", actor, text=last.old_text or memory.text,
                                status=MemoryStatus(last.old_status or memory.status),
                                pinned=(not memory.pinned) if last.event.endswith("pinned")
                                else memory.pinned)

    # -- import and export --------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Every memory that still exists and its history, as JSON-ready data."""
        memories = [m.to_json() for m in self.list(status=None)]
        events = [MemoryEvent.from_row(r).to_json()
                  for r in self.store.rows(MEMORY_EVENTS.name)]
        return {"format": "loremind-memories", "version": 1, "memories": memories,
                "events": sorted(events, key=lambda e: e["at"])}

    def import_(self, data: Any, progress: ImportProgress | None = None) -> tuple[int, int]:
        """Merge exported memories in; returns (added, skipped). Importing twice adds nothing.

        The whole file is checked before anything is written (a malformed file changes
        nothing); texts are embedded in batches, and memories and events are each written in
        one go, so ten thousand memories take seconds and a handful of table versions.
        """
        now = time.time()
        checked = check_export(data, now)
        with self.store.writing():
            known_ids = {r["id"] for r in self.store.rows(MEMORIES.name, columns=["id"])}
            known_texts = {_normal(m.text) for m in self.list(MemoryStatus.ACTIVE)}
            new_rows = []
            skipped = 0
            for row in checked.memories:
                if row["id"] in known_ids or (row["status"] == MemoryStatus.ACTIVE
                                              and _normal(row["text"]) in known_texts):
                    skipped += 1
                    continue
                new_rows.append(row)
            texts = [row["text"] for row in new_rows]
            vectors: builtins.list[np.ndarray] = []
            for begin in range(0, len(texts), IMPORT_BATCH):
                vectors.extend(self.embedder.encode(texts[begin:begin + IMPORT_BATCH]))
                if progress:
                    progress(min(begin + IMPORT_BATCH, len(texts)), len(texts))
            known_events = {r["id"] for r in self.store.rows(MEMORY_EVENTS.name, columns=["id"])}
            events = [e for e in checked.events if e["id"] not in known_events]
            with_history = {e["memory_id"] for e in checked.events}
            events += [_event_row(row["id"], "imported", "", row["text"], "", row["status"],
                                  "user", now) for row in new_rows if row["id"] not in with_history]
            self.store.add(MEMORIES.name, [{**row, "vector": vector}
                                           for row, vector in zip(new_rows, vectors, strict=True)])
            self.store.add(MEMORY_EVENTS.name, events)
            if new_rows:
                self.store.compact([MEMORIES.name, MEMORY_EVENTS.name])
        return len(new_rows), skipped

    # -- internals -----------------------------------------------------------------------------

    def _create(self, text: str, origin: str, status: MemoryStatus, vector: np.ndarray,
                actor: Actor, session_id: str, message_id: str, replaces: str = "",
                source: str = "") -> Memory:
        now = time.time()
        row = {**_memory_defaults(now), "id": uuid.uuid4().hex[:12], "text": text,
               "origin": origin, "status": status, "replaces": replaces,
               "session_id": session_id, "message_id": message_id, "vector": vector,
               "source": source}
        self.store.add(MEMORIES.name, [row])
        event = "created" if status == MemoryStatus.ACTIVE else "proposed"
        self._record(row["id"], event, "", text, "", status, actor)
        return Memory.from_row(row)

    def _change(self, memory: Memory, event: str, actor: Actor, *, text: str | None = None,
                status: MemoryStatus | None = None, pinned: bool | None = None) -> Memory:
        new_text = memory.text if text is None else text
        new_status = memory.status if status is None else status
        row = {**memory.to_json(), "text": new_text, "status": new_status,
               "pinned": memory.pinned if pinned is None else pinned,
               "updated_at": time.time()}
        vector = (self.embedder.encode_query(new_text) if new_text != memory.text
                  else self._vector(memory.id))
        self.store.upsert(MEMORIES.name, [{**row, "vector": vector}])
        self._record(memory.id, event, memory.text, new_text, memory.status, new_status, actor)
        return Memory.from_row(row)

    def _vector(self, memory_id: str) -> np.ndarray:
        row = self.store.rows(MEMORIES.name, where=f"id = {sql_str(memory_id)}",
                              columns=["vector"])
        return np.asarray(row[0]["vector"], dtype=np.float32)

    def _record(self, memory_id: str, event: str, old_text: str, new_text: str,
                old_status: str, new_status: str, actor: Actor) -> None:
        self.store.add(MEMORY_EVENTS.name, [_event_row(memory_id, event, old_text, new_text,
                                                       old_status, new_status, actor, time.time())])


def _event_row(memory_id: str, event: str, old_text: str, new_text: str, old_status: str,
               new_status: str, actor: str, at: float) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "memory_id": memory_id, "event": event,
            "old_text": old_text, "new_text": new_text, "old_status": old_status,
            "new_status": new_status, "actor": actor, "at": at}


def _columns() -> list[str]:
    return list(Memory.__dataclass_fields__)


def _memory_defaults(now: float) -> dict[str, Any]:
    return {"origin": "imported", "status": MemoryStatus.ACTIVE, "pinned": False, "replaces": "",
            "session_id": "", "message_id": "", "created_at": now, "updated_at": now,
            "source": ""}


def _clean(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise LoremindError("A memory needs some text.")
    return text


def _normal(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".")


def _same(a: str, b: str) -> bool:
    return _normal(a) == _normal(b)

