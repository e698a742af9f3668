"""The memory lifecycle: every change audited, undoable, exportable; nothing kept silently."""

from __future__ import annotations

import pytest

from assistant.memory.book import MemoryBook, MemoryNotFound
from assistant.memory.importing import ImportFileError
from assistant.memory.tables import MEMORY_EVENTS
from assistant.migrations import open_database


@pytest.fixture
def book(store, embedder):
    return MemoryBook(store, embedder)


def test_lifecycle_with_history_and_undo(book):
    memory = book.remember("I prefer metric units")
    assert memory.status == "active" and memory.origin == "explicit"
    book.edit(memory.id, "I prefer metric units and Celsius")
    book.forget(memory.id)
    assert book.list() == []
    restored = book.restore(memory.id)  # undoes the forget
    assert restored.status == "active"
    again = book.restore(memory.id)  # restoring twice is the same as once (it used to forget)
    assert again.status == "active"
    events = [e.event for e in book.history(memory.id)]
    assert events == ["created", "edited", "forgotten", "restored"]
    edit = book.history(memory.id)[1]
    assert (edit.old_text, edit.new_text, edit.actor) == (
        "I prefer metric units", "I prefer metric units and Celsius", "user")


def test_undo_an_edit(book):
    memory = book.remember("My cat is called Tom")
    book.edit(memory.id, "My cat is called Tim")
    assert book.restore(memory.id).text == "My cat is called Tom"


def test_proposals_wait_for_approval(book):
    proposed = book.propose("I am allergic to peanuts")
    assert proposed.status == "pending" and proposed.origin == "proposed"
    assert book.list() == []
    assert [m.id for m in book.list("pending")] == [proposed.id]
    approved = book.approve(proposed.id)
    assert approved.status == "active"
    rejected = book.reject(book.propose("My favourite colour is green").id)
    assert rejected.status == "rejected"
    assert [m.text for m in book.list()] == ["I am allergic to peanuts"]


def test_near_duplicates_are_dropped(book):
    book.remember("I am allergic to peanuts")
    assert book.propose("I am allergic to peanuts.") is None
    assert book.propose("i am allergic to PEANUTS") is None


def test_a_contradiction_is_proposed_as_an_update_never_applied(book):
    lyon = book.remember("I live in Lyon")
    update = book.propose("I live in Paris", auto_approve=True)
    assert update.status == "pending", "an update is never applied silently, even in auto mode"
    assert update.replaces == lyon.id
    assert book.get(lyon.id).status == "active"
    book.approve(update.id)
    assert [m.text for m in book.list()] == ["I live in Paris"]
    assert book.get(lyon.id).status == "forgotten"


def test_auto_approve_mode(book):
    assert book.propose("I play the cello", auto_approve=True).status == "active"


def test_forget_permanently_purges_the_text(book, store):
    memory = book.remember("My bank is Example Bank")
    book.edit(memory.id, "My bank is Sample Bank")
    book.forget(memory.id, permanent=True)
    with pytest.raises(MemoryNotFound):
        book.get(memory.id)
    texts = {e["old_text"] for e in store.rows(MEMORY_EVENTS.name)}
    texts |= {e["new_text"] for e in store.rows(MEMORY_EVENTS.name)}
    assert not any("Bank" in t for t in texts)
    assert book.history(memory.id)[-1].event == "purged"


def test_pin_and_id_prefix(book):
    memory = book.remember("I work as a nurse")
    assert book.pin(memory.id[:6]).pinned
    assert book.get(memory.id[:6]).id == memory.id


def test_export_import_round_trip(book, embedder, tmp_path):
    kept = book.remember("I prefer metric units")
    book.edit(kept.id, "I prefer metric units and 24-hour time")
    pending = book.propose("I have two children")
    gone = book.remember("I like jazz")
    book.forget(gone.id)
    exported = book.export()

    fresh = MemoryBook(open_database(tmp_path / "other-db"), embedder)
    assert fresh.import_(exported) == (3, 0)
    assert fresh.import_(exported) == (0, 3)
    assert fresh.export() == exported
    assert fresh.get(pending.id).status == "pending"
    assert [e.event for e in fresh.history(kept.id)] == ["created", "edited"]
    assert fresh.search("units")[0].id == kept.id  # vectors and the text index were rebuilt


def test_import_rejects_other_files(book):
    with pytest.raises(ImportFileError, match="not a Loremind memory export"):
        book.import_({"something": "else"})


def test_pause(book):
    book.remember("I am vegetarian")
    book.pause()
    assert book.paused and book.relevant("what should I cook?") == []
    book.resume()
    assert [m.text for m in book.relevant("what should I cook?")] == ["I am vegetarian"]
