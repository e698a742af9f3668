"""The core's connections area: every call of another app checked against what the user
allowed, recorded in the audit trail, and nothing stored that the user did not approve."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.config import save_settings
from assistant.core import AppQuestion, Done, MemoriesUsed, MemoryStatus, Permissions, Sources
from assistant.errors import BadCallError, NotPermittedError, TooLargeError, UnknownNameError
from tests.connect.support import MEMORY, QUESTION

EVERYTHING = Permissions(read_memories=True, propose_memories=True)


def test_search_is_limited_to_the_folders_the_app_may_read(connected, tmp_path):
    area = connected.connections
    client, _ = area.register("Notes app", Permissions().with_folders([str(tmp_path / "none")]))
    assert area.search(client, "Error E42 boiler") == []
    area.set_permissions(client.id, Permissions().with_folders([str(tmp_path / "docs")]))
    results = area.search(client, "Error E42 boiler", 2)
    assert results and results[0].path.endswith("boiler.md")
    entry = area.audit(client.id)[0]
    assert entry.action == "search" and entry.count == len(results)
    assert "searched your documents for “Error E42 boiler”" in entry.detail
    area.set_permissions(client.id, Permissions(tools=("chat",)))
    with pytest.raises(NotPermittedError, match="does not let Notes app search"):
        area.search(client, "boiler")
    assert area.audit(client.id)[0].outcome == "refused"


def test_memories_need_the_permission_and_are_only_those_about_the_question(connected):
    area = connected.connections
    client, _ = area.register("Claude Desktop", Permissions())
    with pytest.raises(NotPermittedError, match="read your memories"):
        area.relevant_memories(client, "Which boiler do I have?")
    area.set_permissions(client.id, EVERYTHING)
    connected.memory.remember("I prefer tea to coffee")
    found = area.relevant_memories(client, "Which boiler do I have?")
    assert [m.text for m in found] == [MEMORY]
    assert area.audit(client.id)[0].sentence().startswith("Claude Desktop read 1 memory")
    assert {m.text for m in area.memories(client)} == {MEMORY, "I prefer tea to coffee"}


def test_a_proposal_waits_for_the_user_named_after_the_app_even_in_auto_mode(connected):
    area = connected.connections
    settings = connected.current_settings
    connected.settings.update(dataclasses.replace(
        settings, memory=dataclasses.replace(settings.memory, mode="auto")))
    client, _ = area.register("Claude Desktop", EVERYTHING)
    proposed = area.propose_memory(client, "I am allergic to peanuts")
    assert proposed is not None and proposed.status == MemoryStatus.PENDING
    assert proposed.source == "Claude Desktop"
    assert [m.id for m in connected.memory.list(MemoryStatus.PENDING)] == [proposed.id]
    assert proposed.id not in [m.id for m in connected.memory.list()]
    history = connected.memory.history(proposed.id)
    assert [(e.event, e.actor) for e in history] == [("proposed", "app")]
    connected.memory.approve(proposed.id)
    assert connected.memory.get(proposed.id).status == MemoryStatus.ACTIVE
    assert area.propose_memory(client, "I am allergic to peanuts") is None  # known now


def test_bad_or_huge_arguments_are_refused_and_nothing_is_stored(connected):
    area = connected.connections
    client, _ = area.register("Script", EVERYTHING)
    before = len(connected.memory.list(status=None))
    for call, error in (
            (lambda: area.propose_memory(client, "x" * 100_000), TooLargeError),
            (lambda: area.propose_memory(client, "   "), BadCallError),
            (lambda: area.propose_memory(client, {"text": "hi"}), BadCallError),
            (lambda: area.search(client, "boiler", 10_000), BadCallError),
            (lambda: area.search(client, "q" * 5000), TooLargeError),
            (lambda: area.embed(client, ["ok"] * 1000), TooLargeError),
            (lambda: area.embed(client, []), BadCallError),
            (lambda: area.embed(client, [1, 2]), BadCallError)):
        with pytest.raises(error):
            call()
    assert len(connected.memory.list(status=None)) == before
    assert {e.outcome for e in area.audit(client.id)} == {"refused"}


def test_switched_off_apps_paused_memory_and_connections_off_refuse_everything(connected):
    area = connected.connections
    client, token = area.register("Jan", EVERYTHING)
    area.set_enabled(client.id, False)
    with pytest.raises(NotPermittedError, match="switched off"):
        area.authenticate(token)
    area.set_enabled(client.id, True)
    connected.memory.pause(True)
    with pytest.raises(NotPermittedError, match="paused"):
        area.relevant_memories(client, "boiler")
    with pytest.raises(NotPermittedError, match="paused"):
        area.propose_memory(client, "I like jazz")
    connected.memory.pause(False)
    area.switch(False)
    with pytest.raises(NotPermittedError, match="Connections are off"):
        area.search(client, "boiler")
    assert area.audit(client.id)[0].detail.startswith("was refused: Connections are off")


def test_the_switch_is_read_again_when_another_process_saves_the_settings(connected):
    area = connected.connections
    client, _ = area.register("Claude Desktop", EVERYTHING)
    assert area.enabled
    settings = connected.current_settings
    off = dataclasses.replace(settings, connect=dataclasses.replace(settings.connect,
                                                                    enabled=False))
    save_settings(off, connected.paths.config_file)  # what the app's Settings dialog writes
    with pytest.raises(NotPermittedError, match="Connections are off"):
        area.relevant_memories(client, "boiler")


def test_an_answer_cites_uses_memories_and_stores_nothing(connected):
    area = connected.connections
    client, _ = area.register("Script", Permissions(read_memories=True))
    sessions_before = connected.chat.list()
    events = list(area.ask(client, AppQuestion(messages=(("user", QUESTION),))))
    sources = next(e for e in events if isinstance(e, Sources)).citations
    used = next(e for e in events if isinstance(e, MemoriesUsed)).memories
    assert sources and sources[0].path.endswith("boiler.md")
    assert [m.text for m in used] == [MEMORY]
    assert isinstance(events[-1], Done)
    assert connected.chat.list() == sessions_before  # a temporary chat: nothing stored
    assert connected.memory.list(MemoryStatus.PENDING) == []
    entry = area.audit(client.id)[0]
    assert entry.action == "chat" and entry.outcome == "ok"
    assert "used 1 document and 1 memory" in entry.detail

    switched = list(area.ask(client, AppQuestion(messages=(("user", QUESTION),),
                                                 knowledge=False, temporary=True)))
    assert next(e for e in switched if isinstance(e, Sources)).citations == []
    assert next(e for e in switched if isinstance(e, MemoriesUsed)).memories == []


def test_an_answer_honours_the_settings_and_the_apps_permissions(connected):
    area = connected.connections
    client, _ = area.register("Script", Permissions())  # may not read memories
    settings = connected.current_settings
    connected.settings.update(dataclasses.replace(
        settings, connect=dataclasses.replace(settings.connect, knowledge=False)))
    events = list(area.ask(client, AppQuestion(messages=(("user", QUESTION),))))
    assert next(e for e in events if isinstance(e, Sources)).citations == []
    assert next(e for e in events if isinstance(e, MemoriesUsed)).memories == []
    with pytest.raises(UnknownNameError, match="does not exist here"):
        area.ask(client, AppQuestion(messages=(("user", "hi"),), model="gpt-4o"))
    with pytest.raises(BadCallError, match="last message"):
        AppQuestion(messages=(("user", "hi"), ("assistant", "hello")))
    with pytest.raises(TooLargeError):
        AppQuestion(messages=(("user", "x" * 300_000),))
