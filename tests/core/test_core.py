"""The application core: one object owns the parts, and every change is announced."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.bench.synthetic import write_lora
from assistant.core import Area, Change
from assistant.engine import read_gguf
from assistant.paths import app_paths
from tests.knowledge.helpers import assert_consistent

TOPICS = ["garden", "bicycle", "oven", "printer", "router", "kettle", "camera", "boiler"]


@pytest.fixture
def changes(core):
    seen: list[Change] = []
    core.changes.subscribe(seen.append)
    return seen


def write_notes(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        topic = TOPICS[n % len(TOPICS)]
        (folder / f"note-{n:03}.md").write_text(
            f"# Note {n} about the {topic}\n\nThe {topic} manual says step {n} comes after "
            f"step {n - 1}. Keep the receipt number R-{n:04} with the {topic}.\n")


def test_indexing_stops_cleanly_when_cancelled_and_the_next_run_finishes(core, changes,
                                                                         tmp_path, monkeypatch):
    folder = tmp_path / "notes"
    write_notes(folder, 40)
    cancel = threading.Event()
    # Small batches, so that some files are embedded and stored before the stop (files read
    # but not embedded yet are redone by the next run).
    monkeypatch.setattr("assistant.knowledge.indexer.BATCH_CHUNKS", 4)

    def progress(report):
        if report.chunks_done >= 8:
            cancel.set()

    report = core.knowledge.index(folder, progress, cancel)
    store = core.parts.store
    assert report.cancelled
    indexed = store.count("documents", "status = 'indexed'")
    assert 0 < indexed < 40
    assert_consistent(store)
    assert changes[-1] == Change(Area.KNOWLEDGE, "indexed", (str(folder.resolve()),))

    again = core.knowledge.index(folder)
    assert not again.cancelled and again.added == 40 - indexed
    assert store.count("documents", "status = 'indexed'") == 40
    assert_consistent(store)


def test_every_mutation_returns_and_announces_its_change(core, changes, tmp_path):
    folder = tmp_path / "notes"
    write_notes(folder, 2)
    added = core.knowledge.add_folder(folder)
    assert added == Change(Area.KNOWLEDGE, "folder added", (str(folder.resolve()),))
    assert core.knowledge.folders == [str(folder.resolve())]
    core.knowledge.index(folder)
    remembered = core.memory.remember("I keep receipts in the blue folder")
    assert remembered.area is Area.MEMORY and remembered.action == "remembered"
    forgotten = core.memory.forget(remembered.ids[0])
    session = core.chat.new_session()
    events = list(core.chat.ask(session, "Where is the boiler receipt?"))
    assert type(events[-1]).__name__ == "Done"
    deleted = core.chat.delete(session.id)
    removed = core.knowledge.remove_folder(folder)
    assert [(c.area, c.action) for c in changes] == [
        (Area.SETTINGS, "saved"), (Area.KNOWLEDGE, "folder added"),
        (Area.KNOWLEDGE, "indexed"), (Area.MEMORY, "remembered"), (Area.MEMORY, "forgotten"),
        (Area.CHATS, "answering"), (Area.CHATS, "asked"), (Area.CHATS, "answered"),
        (Area.CHATS, "answer ended"),
        (Area.CHATS, "deleted"), (Area.SETTINGS, "saved"),
        (Area.KNOWLEDGE, "folder removed")]
    assert forgotten.ids == remembered.ids and deleted.ids == (session.id,)
    assert removed.ids == (str(folder.resolve()),)
    assert core.parts.store.count("chunks") == 0


def test_a_temporary_chat_announces_nothing(core, changes):
    session = core.chat.new_session(temporary=True)
    list(core.chat.ask(session, "Hello there"))
    assert changes == []


def test_an_adapter_copied_into_the_folder_is_announced(core, changes, tiny_model_path,
                                                        tmp_path):
    core.load_model()
    core.adapters.start_watching()
    made = write_lora(tmp_path / "style.gguf", read_gguf(tiny_model_path), name="style")
    arrived = threading.Event()
    core.changes.subscribe(lambda c: arrived.set() if c.area is Area.ADAPTERS else None)
    made.rename(app_paths().adapters_dir / "style.gguf")
    assert arrived.wait(30)
    change = next(c for c in changes if c.area is Area.ADAPTERS)
    assert change.action == "rescanned" and change.ids == ("style",)
    assert [a.name for a in core.adapters.list()] == ["style"]


def test_a_model_change_in_the_settings_says_the_model_must_reload(core, changes):
    import dataclasses

    settings = core.settings.current
    model = dataclasses.replace(settings.model, context_size=1024)
    change = core.settings.update(dataclasses.replace(settings, model=model))
    assert change == Change(Area.SETTINGS, "model")
    assert core.current_settings.model.context_size == 1024


def test_opening_the_core_loads_nothing(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from assistant.core import Loremind; core = Loremind.open(); "
            "print([m for m in ('lancedb', 'llama_cpp', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_first_answer_while_knowledge_loads_needs_neither_lancedb_nor_torch():
    """What the GUI does at start-up: knowledge is marked as loading before any lane runs, and
    a question asked at once is answered from llama.cpp alone, saying what it does without."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from assistant.core import Loremind, Token\n"
            "core = Loremind.open()\n"
            "core.mark_knowledge_loading()\n"
            "names = []\n"
            "for event in core.chat.ask(core.chat.new_session(), 'Hello, who are you?'):\n"
            "    names.append(type(event).__name__)\n"
            "    if isinstance(event, Token):\n"
            "        break\n"
            "print(names)\n"
            "print([m for m in ('lancedb', 'torch', 'assistant.store') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True, cwd=Path(__file__).parents[2])
    events, imported = out.stdout.strip().splitlines()[-2:]
    assert events == "['Sources', 'MemoriesUsed', 'Notice', 'Token']"
    assert imported == "[]"
