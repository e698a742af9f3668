"""The audit trail of connected apps: every call, in words the user reads in the app.

Calls are recorded as they happen and written in batches by one thread ("loremind-audit"),
at most ``FLUSH_INTERVAL_S`` later: a LanceDB write per call would cost more than an embedding
request itself and pile up table versions. Reading the trail (or closing it) writes what is
waiting first, so nothing recorded is ever missing from what the user reads.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from assistant.connections.tables import CLIENT_EVENTS
from assistant.store import Store, sql_str

if TYPE_CHECKING:
    from assistant.connections.clients import Client

log = logging.getLogger(__name__)
Outcome = Literal["ok", "refused", "failed", "stopped"]
FLUSH_INTERVAL_S = 0.5
MAX_DETAIL_CHARS = 300
MAX_ITEMS = 50


@dataclass(frozen=True)
class AuditEntry:
    """One call by a connected app: who, what, how it ended, when."""

    id: str
    client_id: str
    client: str
    at: float
    action: str
    outcome: str
    count: int
    detail: str
    items: tuple[str, ...] = ()

    def sentence(self) -> str:
        """The call in words: "Claude Desktop read 3 memories at 14:02"."""
        when = datetime.fromtimestamp(self.at)
        clock = when.strftime("%H:%M") if when.date() == datetime.now().date() \
            else when.strftime("%d %b %H:%M")
        return f"{self.client} {self.detail.rstrip('.')} at {clock}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "client_id": self.client_id, "client": self.client,
                "at": self.at, "action": self.action, "outcome": self.outcome,
                "count": self.count, "detail": self.detail, "items": list(self.items),
                "sentence": self.sentence()}


class AuditTrail:
    """Records calls and writes them in batches; ``close`` stops its thread."""

    def __init__(self, store: Store, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.store = store
        self._interval = flush_interval_s
        self._waiting: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one batch at a time, in order
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def record(self, client: Client, action: str, outcome: Outcome, detail: str,
               count: int = 0, items: tuple[str, ...] | list[str] = ()) -> AuditEntry:
        """Note one call by ``client``."""
        entry = AuditEntry(id=uuid.uuid4().hex, client_id=client.id, client=client.name,
                           at=time.time(), action=action, outcome=outcome, count=int(count),
                           detail=_short(detail), items=tuple(str(i) for i in items)[:MAX_ITEMS])
        with self._lock:
            if self._closed:  # a call finishing after shutdown is still written, at once
                self._write([_row(entry)])
                return entry
            self._waiting.append(_row(entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="loremind-audit",
                                                daemon=True)
                self._thread.start()
        return entry

    def entries(self, client_id: str | None = None, limit: int = 500) -> list[AuditEntry]:
        """The latest calls first (of one app, or of all)."""
        self.flush()
        where = f"client_id = {sql_str(client_id)}" if client_id else None
        rows = self.store.rows(CLIENT_EVENTS.name, where=where)
        rows.sort(key=lambda r: r["at"], reverse=True)
        return [_entry(r) for r in rows[:limit]]

    def clear(self, client_id: str | None = None) -> int:
        """Erase the trail (of one app, or all of it) for good; returns how many calls."""
        self.flush()
        with self.store.writing():
            where = f"client_id = {sql_str(client_id)}" if client_id else "true"
            count = self.store.count(CLIENT_EVENTS.name, None if client_id is None else where)
            self.store.delete(CLIENT_EVENTS.name, where)
            # Deleted rows stay readable in older table versions until those are gone.
            self.store.purge(CLIENT_EVENTS.name)
        return count

    def flush(self) -> None:
        """Write every call recorded so far."""
        with self._write_lock:
            with self._lock:
                batch, self._waiting = self._waiting, []
            if not batch:
                return
            try:
                self._write(batch)
            except BaseException:
                with self._lock:  # kept for the next try, in order
                    self._waiting = batch + self._waiting
                raise

    def close(self) -> None:
        """Write what is waiting and stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(10)
        self.flush()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            try:
                self.flush()
            except Exception:  # a database hiccup: the batch waits for the next try
                log.exception("Writing the connections audit trail failed")

    def _write(self, rows: list[dict[str, Any]]) -> None:
        self.store.add(CLIENT_EVENTS.name, rows)


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "client_id": entry.client_id, "client": entry.client,
            "at": entry.at, "action": entry.action, "outcome": entry.outcome,
            "count": entry.count, "detail": entry.detail, "items": json.dumps(list(entry.items))}


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(id=row["id"], client_id=row["client_id"], client=row["client"],
                      at=float(row["at"]), action=row["action"], outcome=row["outcome"],
                      count=int(row["count"]), detail=row["detail"],
                      items=tuple(json.loads(row["items"] or "[]")))


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS - 1] + "…"
