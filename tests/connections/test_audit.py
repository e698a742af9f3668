"""The audit trail: every call recorded, written in batches, readable at once, cleared for
good."""

from __future__ import annotations

import time

from assistant.connections.audit import AuditTrail
from assistant.connections.clients import ClientRegistry, Permissions
from assistant.connections.tables import CLIENT_EVENTS


def test_calls_are_written_in_batches_and_reading_writes_what_waits(store):
    client, _ = ClientRegistry(store).register("Claude Desktop", Permissions())
    trail = AuditTrail(store, flush_interval_s=30)  # its thread would write them much later
    before = store.table(CLIENT_EVENTS.name).version
    for n in range(40):
        trail.record(client, "memories", "ok", f"read {n} memories", n)
    assert store.count(CLIENT_EVENTS.name) == 0  # waiting, not lost
    entries = trail.entries()
    assert [e.count for e in entries] == list(range(39, -1, -1))
    assert store.table(CLIENT_EVENTS.name).version - before == 1  # one write for forty calls
    assert entries[0].sentence() == f"Claude Desktop read 39 memories at " \
                                    f"{time.strftime('%H:%M', time.localtime(entries[0].at))}"
    trail.close()


def test_the_thread_writes_soon_and_close_writes_the_rest(store):
    client, _ = ClientRegistry(store).register("Jan", Permissions())
    trail = AuditTrail(store, flush_interval_s=0.05)
    trail.record(client, "search", "ok", "searched your documents", 2, ["/a.md", "/b.md"])
    deadline = time.monotonic() + 10
    while store.count(CLIENT_EVENTS.name) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.count(CLIENT_EVENTS.name) == 1
    trail.record(client, "search", "ok", "searched again")
    trail.close()
    assert store.count(CLIENT_EVENTS.name) == 2
    assert trail.entries()[1].items == ("/a.md", "/b.md")


def test_clearing_erases_the_text_from_the_files_too(store, loremind_home):
    registry = ClientRegistry(store)
    jan, _ = registry.register("Jan", Permissions())
    other, _ = registry.register("Script", Permissions())
    trail = AuditTrail(store)
    trail.record(jan, "search", "ok", "searched for “secret-phrase-4711”")
    trail.record(other, "embeddings", "ok", "embedded 3 texts", 3)
    assert trail.clear(jan.id) == 1
    assert [e.client for e in trail.entries()] == ["Script"]
    trail.clear()
    assert trail.entries() == []
    folder = loremind_home / "data" if (loremind_home / "data").exists() else loremind_home
    assert not any(b"secret-phrase-4711" in f.read_bytes()
                   for f in folder.rglob("*") if f.is_file())
    trail.close()
