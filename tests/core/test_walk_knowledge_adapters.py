"""Issue 22's walk through the core: a stopped sync leaves what it did not reach waiting (and
the next one indexes it), a sync says what it did, folders and stops are logged, an adapter
deleted here leaves no chat pointing at it, and counts read "1 example", not "1 examples"."""

from __future__ import annotations

import logging

from assistant.bench.synthetic import write_lora
from assistant.core import Area, plural, sync_summary
from assistant.engine import read_gguf
from assistant.knowledge.indexer import NOT_REACHED, SyncReport
from assistant.paths import app_paths
from assistant.training.card import card_lines, card_path, write_card
from tests.core.test_core import write_notes
from tests.knowledge.helpers import assert_consistent

NOTES = 200


def test_a_stopped_sync_leaves_the_files_it_did_not_reach_waiting(core, tmp_path, monkeypatch,
                                                                  caplog):
    caplog.set_level(logging.INFO, logger="assistant.core.knowledge")
    # Small batches: a few notes are stored before the stop, most are not reached.
    monkeypatch.setattr("assistant.knowledge.indexer.BATCH_CHUNKS", 4)
    folder = tmp_path / "notes"
    write_notes(folder, NOTES)
    key = str(folder.resolve())
    knowledge = core.knowledge
    stopped = []

    def progress(state):
        if state.chunks_done >= 8 and not stopped:
            stopped.extend(knowledge.stop_indexing(folder))  # the scheduler's cancel

    job = knowledge.start_indexing(folder, progress)
    assert job.wait(120)
    report = job.result()
    assert report.cancelled and stopped == [job]
    store = core.parts.store
    indexed = store.count("documents", "status = 'indexed'")
    [overview] = knowledge.overview()
    assert 0 < overview.indexed == indexed < NOTES
    assert overview.pending == report.waiting == NOTES - indexed  # every file is accounted for
    assert overview.problems == []
    reasons = {r["reason"] for r in store.rows("documents", where="status = 'pending'")}
    assert reasons == {NOT_REACHED}
    assert_consistent(store)
    logged = [r.getMessage() for r in caplog.records]
    assert f"Watching {key}: added to Knowledge" in logged
    assert f"Asked 1 sync of {key} to stop" in logged
    assert any(m.startswith(f"Indexing of {key} stopped: {indexed} new; "
                            f"{NOTES - indexed} files not indexed yet") for m in logged), logged

    again = knowledge.index(folder)
    assert not again.cancelled and (again.added, again.updated) == (NOTES - indexed, 0)
    [overview] = knowledge.overview()
    assert (overview.indexed, overview.pending) == (NOTES, 0)
    assert_consistent(store)
    assert sync_summary("notes", again) == f"notes is indexed: {NOTES - indexed} new " \
                                           f"({indexed} unchanged)."
    assert sync_summary("notes", knowledge.index(folder)) == \
        f"notes is up to date: {NOTES} files unchanged."

    caplog.clear()
    knowledge.remove_folder(folder)
    assert f"Stopped watching {key}: {NOTES} documents left the index (the files are " \
           "untouched)" in [r.getMessage() for r in caplog.records]


def test_a_sync_says_what_it_did_in_words():
    assert sync_summary("Notes", SyncReport(unchanged=1)) == \
        "Notes is up to date: 1 file unchanged."
    assert sync_summary("Notes", SyncReport(added=3, updated=1, removed=2, unchanged=114)) == \
        "Notes is indexed: 3 new, 1 changed, 2 removed (114 unchanged)."
    assert sync_summary("Notes", SyncReport()) == "Notes has no files to index."
    assert sync_summary("Notes", SyncReport(cancelled=True, waiting=1)) == \
        "Indexing of Notes stopped: nothing new was indexed; 1 file not indexed yet, " \
        "indexed next time."


def test_deleting_an_adapter_takes_it_out_of_every_chat(core, tiny_model_path, caplog):
    caplog.set_level(logging.INFO, logger="assistant.core.adapters")
    core.load_model()
    folder = app_paths().adapters_dir
    folder.mkdir(parents=True, exist_ok=True)
    base = read_gguf(tiny_model_path)
    style = write_lora(folder / "style.gguf", base, name="style")
    write_lora(folder / "other.gguf", base, name="other", seed=2)
    write_card(card_path(style), {"data": {"counts": {"examples": 1}}})
    on_screen = core.chat.new_session()
    list(core.chat.ask(on_screen, "Hello"))
    core.adapters.set_for_chat(on_screen, [("style", 0.5), ("other", 1.0)])
    before = core.chat.get(on_screen.id).updated_at
    temporary = core.chat.new_session(temporary=True)
    core.adapters.set_for_chat(temporary, [("style", 1.0)])
    seen = []
    core.changes.subscribe(seen.append)

    change = core.adapters.delete(style, [on_screen, temporary])

    assert (change.area, change.action, change.ids) == (Area.ADAPTERS, "deleted", ("style",))
    assert seen == [change]
    assert not style.exists() and not card_path(style).exists()
    stored = core.chat.get(on_screen.id)
    assert [a["name"] for a in stored.adapters] == ["other"]
    assert stored.updated_at == before, "the chat was not used: it keeps its place in the list"
    assert [a["name"] for a in on_screen.adapters] == ["other"] and temporary.adapters == []
    assert [a.name for a in core.adapters.list()] == ["other"]
    assert any(f"Deleted the adapter {style} and its card; 1 stored chat used it"
               == r.getMessage() for r in caplog.records)


def test_counts_read_one_example_not_one_examples():
    assert plural(1, "example") == "1 example"
    assert plural(0, "example") == "0 examples"
    assert plural(2, "memory", "memories") == "2 memories"
    card = {"data": {"counts": {"train_examples": 1, "heldout_examples": 0,
                                "trained_tokens": 1},
                     "sources": [{"kind": "pairs", "path": "p.jsonl", "examples": 1},
                                 {"kind": "chat", "message_ids": ["m1"]}]},
            "settings": {"rank": 4, "alpha": 8, "steps": 1, "lr": 0.01}}
    text = "\n".join(card_lines(card))
    assert "(1 example," in text and "from 1 chat message" in text
    assert "1 trained token" in text
    assert "1 step," in text
    assert "examples" not in text.replace("held-out examples", "")
