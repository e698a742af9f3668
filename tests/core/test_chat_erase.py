"""Deleting a chat removes every trace of it, checked byte by byte in every file of the data
folder (issue 26: a Teach example marked from a deleted chat kept its words in
``data/training/chat_examples.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.core import Loremind
from assistant.errors import UserFileError

SECRETS = [b"zephyrquill", b"marblewhisk", b"tundrafable", b"quokkajam"]


def files_holding(root: Path, needle: bytes) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _chat_with_every_trace(core: Loremind):
    """A chat whose words reach every place a chat's words can: its messages, a Teach
    example with a rewrite, memories proposed from it (pending and rejected), the model's
    saved state."""
    chat = core.chat
    session = chat.new_session()
    list(chat.ask(session, "My boat is called zephyrquill"))
    list(chat.ask(session, "It is moored at tundrafable"))
    answer = session.messages[-1]
    core.teach.examples.mark(session.id, answer.id, rewrite="Say marblewhisk instead")
    book = core.parts.memory
    book.propose("My boat is called zephyrquill", session_id=session.id)
    rejected = book.propose("I eat quokkajam for breakfast", session_id=session.id)
    assert rejected is not None
    book.reject(rejected.id)
    other = chat.new_session()
    list(chat.ask(other, "A kept chat about lighthouses"))  # switches the model's cache
    return session, other


def test_deleting_a_chat_leaves_none_of_its_words_in_any_file(core, loremind_home):
    session, other = _chat_with_every_trace(core)
    for word in SECRETS:
        assert files_holding(loremind_home, word), f"the scan must see {word!r} first"
    model = core.parts.loaded_model
    assert any(key[0] == session.id for key in model.chat_states._states)
    core.chat.delete(session.id)
    for word in SECRETS:
        assert files_holding(loremind_home, word) == [], word
    assert not any(key[0] == session.id for key in model.chat_states._states)
    assert [s.id for s in core.chat.list()] == [other.id]
    assert core.teach.examples.all() == []
    assert core.memory.list(None) == []
    list(core.chat.ask(other, "Still answering after the erase"))


def test_the_cache_of_a_deleted_chat_is_cleared(core):
    session = core.chat.new_session()
    list(core.chat.ask(session, "My boat is called zephyrquill"))
    model = core.parts.loaded_model
    assert model._cache_owner[0] == session.id and model.llama.n_tokens > 0
    core.chat.delete(session.id)
    assert model._cache_owner is None and model.llama.n_tokens == 0


def test_an_undone_delete_brings_the_chat_and_its_examples_back(core, loremind_home):
    session, _ = _chat_with_every_trace(core)
    marked = core.teach.examples.all()
    copy = core.chat.take_out(session.id)
    assert files_holding(loremind_home, b"marblewhisk") == []
    restored = core.chat.import_(copy)
    assert restored.id == session.id
    assert core.teach.examples.all() == marked
    assert [m.text for m in core.chat.get(session.id).messages][0] == \
        "My boat is called zephyrquill"


def test_exports_into_the_data_folder_are_refused(core):
    session, _ = _chat_with_every_trace(core)
    data = core.paths.data_dir
    for target in (data / "chat.json", data / "training" / "chat.md"):
        with pytest.raises(UserFileError, match="inside Loremind's data folder"):
            core.chat.export(core.chat.get(session.id), target)
    with pytest.raises(UserFileError, match="inside Loremind's data folder"):
        core.memory.export_to(data / "memories.json")


def test_sessions_delete_from_the_command_line_erases_the_examples(core, loremind_home):
    session, _ = _chat_with_every_trace(core)
    examples = loremind_home / "data" / "training" / "chat_examples.json"
    assert session.id in examples.read_text()
    result = CliRunner().invoke(main, ["sessions", "delete", session.id])
    assert result.exit_code == 0, result.output
    assert json.loads(examples.read_text()) == []
    for word in SECRETS:
        assert files_holding(loremind_home, word) == [], word
