"""Chat files checked whole before anything is stored, and stored chats never trusted.

Issue 26: ``loremind sessions import`` ended in tracebacks on malformed files and stored some of
them; showing, exporting or continuing such a stored chat ended in tracebacks too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.chat.chat_file import ChatImportError, check_chat
from assistant.chat.conversations import ChatMessage, ChatSession, Conversations
from assistant.chat.export import chat_to_json, chat_to_markdown, export_chat, import_chat
from assistant.chat.tables import MESSAGES, SESSIONS
from assistant.cli import main

GOOD_MESSAGE = {"role": "user", "text": "Where is the lighthouse?", "id": "m1"}


def chat(**changes):
    data = {"format": "loremind-chat", "version": 1, "id": "c1", "title": "Lighthouses",
            "messages": [GOOD_MESSAGE, {"role": "assistant", "text": "On the cape.", "id": "m2"}]}
    data.update(changes)
    return data


def message(**changes):
    return chat(messages=[{**GOOD_MESSAGE, **changes}])


# The shapes the adversarial run found, and where each must be named.
SHAPES = {
    "messages a string": (chat(messages="hello"), "messages must be a list, not a string"),
    "messages an object": (chat(messages={"a": 1}), "messages must be a list, not an object"),
    "messages of strings": (chat(messages=["hi", "there"]),
                            r"messages\[0\] must be an object, not a string"),
    "text a number": (message(text=5), r"messages\[0\]\.text is a number"),
    "role a number": (message(role=1), r"messages\[0\]\.role is a number"),
    "role unknown": (message(role="system"), r"messages\[0\]\.role is 'system'"),
    "id a number": (message(id=7), r"messages\[0\]\.id is a number"),
    "chat id a number": (chat(id=7), "id is a number"),
    "created soon": (chat(created_at="soon"), "created_at is 'soon'; it must be a time"),
    "message created soon": (message(created_at="soon"), r"messages\[0\]\.created_at"),
    "version a list": (chat(version=[1]), "version is a list"),
    "version null": (chat(version=None), "version is None"),
    "version a word": (chat(version="abc"), "version is 'abc'"),
    "version from the future": (chat(version=2), "newer Loremind"),
    "settings a list": (chat(settings=[1]), "settings must be an object, not a list"),
    "settings temperature": (chat(settings={"temperature": 50}), "settings.temperature is 50"),
    "settings scope": (chat(settings={"knowledge": "some of it"}), "settings.knowledge"),
    "lone surrogate": (message(text="broken \ud800 half"), "half of a surrogate pair"),
    "nul in a title": (chat(title="a\x00b"), "title holds characters that cannot be stored"),
    "title missing": ({k: v for k, v in chat().items() if k != "title"}, 'has no "title"'),
    "title huge": (chat(title="t" * 5000), "title is longer than 4096 characters"),
    "sources a string": (message(sources="[1]"), r"messages\[0\]\.sources must be a list"),
    "source number a word": (message(sources=[{"number": "one"}]),
                             r"messages\[0\]\.sources\[0\]\.number is 'one'"),
    "source score nan": (message(sources=[{"score": math.nan}]), "score is nan"),
    "stats a list": (message(stats=[1]), r"messages\[0\]\.stats must be an object"),
    "stats seconds": (message(stats={"seconds": -1}), r"messages\[0\]\.stats\.seconds is -1"),
    "stats adapters": (message(stats={"adapters": [{"name": "x"}]}),
                       r"messages\[0\]\.stats\.adapters\[0\] has no \"scale\""),
    "adapters strings": (chat(adapters=["style"]), r"adapters\[0\] must be an object"),
    "adapter scale": (chat(adapters=[{"name": "s", "scale": "big"}]), r"adapters\[0\]\.scale"),
    "versions a dict": (message(versions={"all": []}), r"messages\[0\]\.versions must be a list"),
    "version past the versions": (message(versions=[{"text": "a"}], version=3),
                                  r"messages\[0\]\.version is 3"),
    "a version of strings": (message(versions=["a"]),
                             r"messages\[0\]\.versions\[0\] must be an object"),
    "memories used strings": (message(memories_used=["bees"]),
                              r"messages\[0\]\.memories_used\[0\] must be an object"),
    "duplicate message ids": (chat(messages=[GOOD_MESSAGE, GOOD_MESSAGE]), "'m1' twice"),
    "a list at the top": ([], "not a chat exported by Loremind"),
}


@pytest.mark.parametrize("name", SHAPES)
def test_each_malformed_chat_is_named_where_it_is(name):
    data, problem = SHAPES[name]
    with pytest.raises(ChatImportError, match=problem):
        check_chat(data, 0.0)


def _write_raw(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.fixture
def chats(store, embedder):
    return Conversations(store, embedder)


def test_nothing_is_stored_from_a_malformed_file(chats, store, tmp_path):
    for index, (data, _) in enumerate(SHAPES.values()):
        path = _write_raw(tmp_path, f"{index}.json", json.dumps(data).encode())
        with pytest.raises(ChatImportError):
            import_chat(chats, path)
    raw = {"deep.json": b"[" * 100_000 + b"]" * 100_000,
           "deep-inside.json": (b'{"format": "loremind-chat", "title": "t", "settings": {"x": '
                                + b"[" * 70 + b"]" * 70 + b"}}"),
           "not-json.json": b'{"format": "loremind-chat", "messages": [',
           "nan.json": b'{"format": "loremind-chat", "title": "t", "created_at": NaN}',
           "utf16.json": json.dumps(chat()).encode("utf-16"),
           "binary.json": bytes(range(256))}
    for name, data in raw.items():
        with pytest.raises(ChatImportError):
            import_chat(chats, _write_raw(tmp_path, name, data))
    assert store.count(SESSIONS.name) == 0 and store.count(MESSAGES.name) == 0


def test_deep_json_is_one_clear_line(tmp_path, chats):
    path = _write_raw(tmp_path, "deep.json", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ChatImportError, match="nests more than 64 levels deep"):
        import_chat(chats, path)


@pytest.mark.timeout(60)
def test_special_files_are_refused_not_read(tmp_path, chats):
    import os

    os.mkfifo(tmp_path / "fifo.json")
    os.symlink("/dev/zero", tmp_path / "zero.json")
    (tmp_path / "folder.json").mkdir()
    for name, problem in (("fifo.json", "not a regular file"), ("zero.json", "not a regular"),
                          ("folder.json", "is a folder"), ("missing.json", "There is no file")):
        with pytest.raises(ChatImportError, match=problem):
            import_chat(chats, tmp_path / name)


def test_a_valid_file_still_imports_whole(chats):
    session = import_chat(chats, chat(settings={"temperature": 0.3, "knowledge": "none"}))
    stored = chats.get(session.id)
    assert [(m.role, m.text) for m in stored.messages] == [
        ("user", "Where is the lighthouse?"), ("assistant", "On the cape.")]
    assert stored.settings.temperature == 0.3 and stored.damaged == []
    copy = import_chat(chats, chat())  # the same ids again: a copy, ids of its own
    assert copy.id != session.id
    assert {m.id for m in chats.get(copy.id).messages}.isdisjoint({"m1", "m2"})
    assert [m.id for m in chats.get(session.id).messages] == ["m1", "m2"]


# Stored chats an older Loremind wrote from malformed files: shown as damaged, never a traceback.

DAMAGED_ROWS = {
    "sources": "{not json",
    "stats": json.dumps(["a", "list"]),
    "versions": json.dumps({"current": 5, "all": "nope"}),
    "memories_used": json.dumps([1, 2]),
}


def _store_damaged_chat(store, chats) -> ChatSession:
    session = ChatSession(title="Damaged")
    chats.append(session, ChatMessage("user", "A question about tides"))
    chats.append(session, ChatMessage("assistant", "An answer about tides"))
    answer_id = chats.get(session.id).messages[1].id
    store.update(MESSAGES.name, f"id = '{answer_id}'", DAMAGED_ROWS)
    store.update(MESSAGES.name, f"session_id = '{session.id}' AND role = 'user'",
                 {"created_at": math.nan})
    store.update(SESSIONS.name, f"id = '{session.id}'",
                 {"adapters": json.dumps([{"name": 3}]), "settings": "[]",
                  "created_at": math.nan})
    return session


def test_a_damaged_stored_chat_is_shown_without_its_bad_parts(store, chats, tmp_path):
    session = _store_damaged_chat(store, chats)
    shown = chats.get(session.id)
    assert [(m.role, m.text) for m in shown.messages] == [
        ("user", "A question about tides"), ("assistant", "An answer about tides")]
    answer = shown.messages[1]
    assert (answer.sources, answer.stats, answer.versions, answer.memories_used) == \
        ([], {}, [], [])
    named = " ".join(shown.damaged)
    for part in ("adapters", "settings", "created_at", "sources", "stats", "versions",
                 "memories_used"):
        assert f"its {part} could not be read" in named, part
    assert all(math.isfinite(m.created_at) for m in shown.messages)
    assert "Damaged in the database" in chat_to_markdown(shown)
    export_chat(shown, tmp_path / "again.json")  # what is exported imports again
    assert check_chat(json.loads((tmp_path / "again.json").read_text()), 0.0).title == "Damaged"
    assert chats.list()[0].title == "Damaged"
    json.dumps(chat_to_json(shown), allow_nan=False)


def test_the_cli_shows_and_exports_a_damaged_chat(store, chats, tmp_path):
    session = _store_damaged_chat(store, chats)
    runner = CliRunner()
    for args in (["sessions", "show", session.id], ["sessions", "show", session.id, "--json"],
                 ["sessions", "list"], ["sessions", "list", "--json"],
                 ["sessions", "export", session.id, str(tmp_path / "d.md")],
                 ["sessions", "export", session.id, str(tmp_path / "d.json")]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    shown = runner.invoke(main, ["sessions", "show", session.id])
    assert "damaged in the database" in shown.output and "An answer about tides" in shown.output


def test_what_a_model_writes_is_stored_and_read_back_whole(chats):
    """A byte token can decode to a NUL, a server's escapes to half a surrogate pair: the
    engines make such text storable, so a regenerated answer keeps its versions (they were
    once read back as damaged and lost)."""
    from assistant.chat.versions import add_version, snapshot
    from assistant.json_shapes import made_storable, storable

    written = made_storable("tide\x00 table \udcff!")
    assert storable(written) and written == "tide table \ufffd!"
    session = ChatSession(title="Tides")
    session.messages.append(ChatMessage("user", "Tides?"))
    chats.append(session, session.messages[0])
    first = ChatMessage("assistant", made_storable("\x00High tide at six."))
    chats.append(session, first)
    again = ChatMessage("assistant", written, id=first.id)
    add_version(again, first)
    chats.update_answer(session, again)
    stored = chats.get(session.id)
    assert stored.damaged == []
    assert [v["text"] for v in stored.messages[-1].versions] == ["High tide at six.", written]
    assert snapshot(stored.messages[-1])["text"] == written
