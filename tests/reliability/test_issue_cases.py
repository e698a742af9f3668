"""Issue 17's cases, one test each: what a hostile or unlucky user met, and what must happen."""

from __future__ import annotations

import errno
import json
import logging
import os
import threading
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.errors import ConfigError, LoremindError, ModelError
from assistant.knowledge.indexer import Indexer
from assistant.knowledge.watcher import FolderWatcher
from assistant.memory.book import MemoryBook
from assistant.memory.importing import ImportFileError
from assistant.memory.tables import MEMORIES, MEMORY_EVENTS
from assistant.paths import AppPaths
from assistant.store import DOCUMENTS
from tests.knowledge.test_watcher import eventually

BAD_NAME = b"bad\xffname.txt"


def _write_bad_name(folder: Path) -> str:
    path = os.path.join(os.fsencode(folder), BAD_NAME)
    with open(path, "wb") as handle:
        handle.write(b"an undecodable name")
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _statuses(store) -> dict[str, tuple[str, str]]:
    return {r["path"]: (r["status"], r["reason"]) for r in store.rows(DOCUMENTS.name)}


# 1. A non-UTF-8 file name stopped indexing, every rerun too, and killed the watcher thread.


def test_a_non_utf8_name_is_skipped_and_the_rest_indexed(store, embedder, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("Lighthouses guide ships at night.")
    shown = _write_bad_name(docs)
    indexer = Indexer(store, embedder)
    first = indexer.sync(docs)
    assert (first.added, first.skipped) == (1, 1)
    status = _statuses(store)
    assert status[str(docs / "good.txt")] == ("indexed", "")
    assert status[shown][0] == "skipped" and "UTF-8" in status[shown][1]
    again = indexer.sync(docs)  # stable: nothing rewritten, nothing fails
    assert (again.unchanged, again.changed) == (1, False)


def test_a_non_utf8_folder_name_is_refused_in_one_line(store, embedder, tmp_path):
    folder = os.path.join(os.fsencode(tmp_path), b"caf\xe9")
    os.mkdir(folder)
    with pytest.raises(LoremindError, match="not valid UTF-8"):
        Indexer(store, embedder).sync(Path(os.fsdecode(folder)))


def test_the_watcher_keeps_indexing_after_a_non_utf8_name(store, embedder, tmp_path):
    docs = tmp_path / "watched"
    docs.mkdir()
    errors: list[Exception] = []
    with FolderWatcher(Indexer(store, embedder), [docs], debounce_s=0.2,
                       on_error=errors.append) as watcher:
        assert watcher.wait_idle(60)
        shown = _write_bad_name(docs)
        eventually(lambda: shown in _statuses(store))
        (docs / "later.txt").write_text("A file written after the odd name is still indexed.")
        eventually(lambda: _statuses(store).get(str(docs / "later.txt"), ("",))[0] == "indexed")
        assert watcher._thread.is_alive()
    assert errors == []


def test_the_watcher_thread_survives_an_unexpected_failure(store, embedder, tmp_path):
    docs = tmp_path / "w"
    docs.mkdir()
    indexer = Indexer(store, embedder)
    calls: list[int] = []
    real_sync = indexer.sync

    def flaky(*args, **kwargs):  # a bug in one sync (not a LoremindError) must not end watching
        calls.append(1)
        if len(calls) == 2:
            raise KeyError("boom")
        return real_sync(*args, **kwargs)

    indexer.sync = flaky  # type: ignore[method-assign]
    errors: list[Exception] = []
    with FolderWatcher(indexer, [docs], debounce_s=0.2, on_error=errors.append) as watcher:
        assert watcher.wait_idle(60)  # the start-up reconcile is the first sync
        (docs / "one.txt").write_text("first")
        eventually(lambda: len(errors) == 1)  # the second sync fails
        (docs / "two.txt").write_text("second file")
        eventually(lambda: _statuses(store).get(str(docs / "two.txt"), ("",))[0] == "indexed")
        assert watcher._thread.is_alive()
    assert [type(e) for e in errors] == [KeyError]


# 2. A data folder whose log cannot be written ended every command in an OSError traceback.


def test_logging_falls_back_to_stderr(tmp_path, capsys):
    from assistant.logs import setup_logging

    (tmp_path / "logs").write_text("a file where the log folder should be")
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "cache", tmp_path / "logs")
    loggers = [logging.getLogger(name) for name in ("assistant", "ui")]
    before = [list(logger.handlers) for logger in loggers]
    for logger in loggers:  # as in a fresh process: an earlier test may have set up logging
        logger.handlers.clear()
    try:
        setup_logging(paths)
        added = loggers[0].handlers
        assert added and all(not isinstance(h, logging.FileHandler) for h in added)
        logging.getLogger("assistant.test").warning("still heard")
    finally:
        for logger, handlers in zip(loggers, before, strict=True):
            logger.handlers[:] = handlers
    err = capsys.readouterr().err
    assert "cannot write the log file" in err and "still heard" in err


def test_unmakeable_data_folder_is_one_clear_error(tmp_path):
    (tmp_path / "data").write_text("a file where the data folder should be")
    paths = AppPaths(tmp_path / "config", tmp_path / "data", tmp_path / "cache", tmp_path / "l")
    with pytest.raises(ConfigError, match="Cannot create the folder .*LOREMIND_HOME"):
        paths.ensure()


# 3. `[model] threads = 100000` segfaulted `ask`.


def test_absurd_thread_count_is_refused_at_load(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[model]\nthreads = 100000\n")
    with pytest.raises(ConfigError, match="'model.threads'.*between 0 and 1024"):
        load_settings(config)


def test_threads_are_capped_at_the_cores(tiny_model_path):
    from assistant.engine import LocalModel

    model = LocalModel.load(tiny_model_path, context_size=128, threads=1024, gpu_layers=0)
    try:
        assert model.llama.n_threads == os.cpu_count()
    finally:
        model.close()


# 4 and 5. Malformed imports: tracebacks, memories written before failing, duplicate ids.

VALID = {"id": "m1", "text": "I keep bees", "status": "active"}
MALFORMED = {
    "a list": [],
    "no format": {"memories": [VALID]},
    "memories null": None,  # allowed: means no memories (checked below)
    "memories an object": {"m1": VALID},
    "memory without id": [{"text": "x", "status": "active"}],
    "memory without text": [{"id": "m1", "status": "active"}],
    "memory with odd status": [{**VALID, "status": "gone"}],
    "pinned as a word": [{**VALID, "pinned": "yes"}],
    "text as a number": [{**VALID, "text": 5}],
    "id as a number": [{**VALID, "id": 5}],
    "duplicate ids": [VALID, {**VALID, "text": "b"}, {**VALID, "text": "c"}],
    "created_at as text": [{**VALID, "created_at": "yesterday"}],
}


@pytest.fixture
def book(store, embedder):
    return MemoryBook(store, embedder)


@pytest.mark.parametrize("name", [n for n in MALFORMED if n != "memories null"])
def test_a_malformed_import_writes_nothing(book, store, name):
    shape = MALFORMED[name]
    data = shape if not isinstance(shape, list) or name == "a list" else {
        "format": "loremind-memories", "memories": shape}
    if name == "memories an object":
        data = {"format": "loremind-memories", "memories": shape}
    with pytest.raises(ImportFileError):
        book.import_(data)
    assert store.count(MEMORIES.name) == 0 and store.count(MEMORY_EVENTS.name) == 0


def test_an_event_without_id_is_refused_before_any_memory_is_written(book, store):
    data = {"format": "loremind-memories", "memories": [VALID],
            "events": [{"memory_id": "m1", "event": "created"}]}
    with pytest.raises(ImportFileError, match=r"events\[0\] has no \"id\""):
        book.import_(data)
    assert store.count(MEMORIES.name) == 0


def test_an_import_without_status_gets_a_history(book):
    assert book.import_({"format": "loremind-memories", "memories": [
        {"id": "n1", "text": "I cycle to work"}]}) == (1, 0)
    assert book.get("n1").status == "active"
    assert [e.event for e in book.history("n1")] == ["imported"]


def test_imported_events_with_missing_fields_read_back(book):
    book.import_({"format": "loremind-memories", "memories": [VALID],
                  "events": [{"id": "e1", "memory_id": "m1", "event": "created"}]})
    (event,) = book.history("m1")
    assert (event.old_text, event.actor, event.at > 0) == ("", "user", True)


def test_duplicate_ids_are_refused_and_forget_works(book):
    data = {"format": "loremind-memories", "memories": [
        {"id": "d1", "text": "one"}, {"id": "d2", "text": "two"}, {"id": "d1", "text": "three"}]}
    with pytest.raises(ImportFileError, match="'d1' twice"):
        book.import_(data)
    data["memories"].pop()
    assert book.import_(data) == (2, 0)
    book.forget("d1")  # used to say "'d1' matches several memories"
    assert book.get("d1").status == "forgotten"


# 6. "Erased for good" left the text in older LanceDB versions; so did deleted chats.


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_forget_permanently_leaves_no_trace_on_disk(book, loremind_home):
    memory = book.remember("My locker code is zebraquartz 8812")
    book.remember("I like tea")
    book.edit(memory.id, "My locker code is zebraquartz 9913")
    assert _files_holding(loremind_home, b"zebraquartz"), "the scan must see the text first"
    book.forget(memory.id, permanent=True)
    assert _files_holding(loremind_home, b"zebraquartz") == []
    assert [m.text for m in book.list()] == ["I like tea"]
    book.remember("Still writable after the purge")
    assert book.search("tea")[0].text == "I like tea"


def test_deleting_a_chat_leaves_no_trace_on_disk(store, embedder, loremind_home):
    from assistant.chat.conversations import ChatMessage, ChatSession, Conversations

    chats = Conversations(store, embedder)
    keep, gone = ChatSession(title="kept"), ChatSession(title="secret chat")
    chats.append(keep, ChatMessage("user", "What about lighthouses?"))
    chats.append(gone, ChatMessage("user", "My password hint is quokkamarmalade"))
    assert _files_holding(loremind_home, b"quokkamarmalade")
    chats.delete(gone.id)
    assert _files_holding(loremind_home, b"quokkamarmalade") == []
    assert [s.title for s in chats.list()] == ["kept"]


# 7. FIFOs and links to /dev/zero hung `adapters list`, `ask --adapter` and `--model`.


@pytest.mark.timeout(120)
def test_special_files_are_refused_not_opened(tmp_path, tiny_model_path):
    from assistant.engine.adapter_files import AdapterCatalog
    from assistant.engine.gguf_file import read_gguf, validate_model_file

    os.mkfifo(tmp_path / "x.gguf")
    os.symlink("/dev/zero", tmp_path / "zero.gguf")
    for name in ("x.gguf", "zero.gguf"):
        with pytest.raises(ModelError, match="not a regular file"):
            validate_model_file(tmp_path / name)
    catalog = AdapterCatalog([tmp_path], read_gguf(tiny_model_path))
    catalog.refresh()
    judged = {a.path.name: (a.compatible, a.reason) for a in catalog.adapters}
    assert judged == {name: (False, "is not a regular file (a FIFO, socket or device)")
                      for name in ("x.gguf", "zero.gguf")}


@pytest.mark.timeout(120)
def test_special_documents_are_skipped_not_opened(store, embedder, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    os.mkfifo(docs / "pipe.txt")
    os.symlink("/dev/zero", docs / "zero.md")
    Indexer(store, embedder).sync(docs)
    assert {Path(p).name: s for p, (s, _) in _statuses(store).items()} == {
        "pipe.txt": "skipped", "zero.md": "skipped"}


def test_a_file_swapped_for_a_fifo_after_the_scan_does_not_hang(tmp_path):
    from assistant.knowledge.files import read_document

    regular = tmp_path / "a.txt"
    regular.write_text("x")
    info = regular.stat()
    regular.unlink()
    os.mkfifo(regular)
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(read_document(regular, info, 1000)),
                              daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "opening a FIFO blocked"
    assert "not a regular file" in getattr(results[0], "reason", "")


# Weaker cases: disk-full messages, restore twice, store errors.


def test_disk_full_says_so_without_rust_paths(tmp_path):
    from assistant.store.store import store_error_message

    lance = OSError(errno.ENOSPC, "LanceError(IO): Generic LocalFileSystem error: No space left "
                    "on device (os error 28), /home/build/lance/rust/lance-io/src/local.rs:118:31")
    message = store_error_message("add rows to 'chunks'", tmp_path, lance)
    assert "is full" in message and ".rs:" not in message
    generic = RuntimeError("Invalid input, bad thing, /root/.cargo/registry/src/x/lance.rs:9:5")
    assert ".rs" not in store_error_message("read 'x'", tmp_path, generic)


def test_restoring_twice_keeps_the_memory(book):
    memory = book.remember("I speak Welsh")
    book.forget(memory.id)
    assert book.restore(memory.id).status == "active"
    assert book.restore(memory.id).status == "active"
    assert book.get(memory.id).status == "active"


def test_newline_in_loremind_home_names_the_variable(monkeypatch):
    from assistant.paths import app_paths

    monkeypatch.setenv("LOREMIND_HOME", "/tmp/a\nb")
    with pytest.raises(ConfigError, match="LOREMIND_HOME .* line break"):
        app_paths()


@pytest.mark.parametrize("toml, key", [
    ("[generation]\nmax_tokens = 0\n", "generation.max_tokens"),
    ("[generation]\ntemperature = nan\n", "generation.temperature"),
    ("[generation]\ntop_p = 2\n", "generation.top_p"),
    ("[generation]\nmin_p = -0.5\n", "generation.min_p"),
    ("[model]\ncontext_size = 0\n", "model.context_size"),
    ("[knowledge]\nmax_file_mb = 0\n", "knowledge.max_file_mb"),
    ("[generation]\nrepeat_penalty = inf\n", "generation.repeat_penalty"),
])
def test_out_of_range_settings_name_their_key(tmp_path, toml, key):
    config = tmp_path / "config.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match=f"'{key}' in .*config.toml"):
        load_settings(config)


def test_adapters_with_nan_huge_alpha_or_rank_zero_are_incompatible(tmp_path, tiny_model_path):
    from assistant.bench.synthetic import write_lora
    from assistant.engine.adapter_files import inspect_adapter
    from assistant.engine.gguf_file import read_gguf

    base = read_gguf(tiny_model_path)
    cases = {"nan": {"alpha": float("nan")}, "huge": {"alpha": 1e30},
             "inf": {"alpha": float("inf")}, "rank0": {"rank": 0}, "fine": {}}
    judged = {}
    for name, kwargs in cases.items():
        info = inspect_adapter(write_lora(tmp_path / f"{name}.gguf", base, **kwargs), base)
        judged[name] = info.compatible
        json.dumps(info.to_dict(), allow_nan=False)  # valid JSON: no bare NaN
    assert judged == {"nan": False, "huge": False, "inf": False, "rank0": False, "fine": True}

