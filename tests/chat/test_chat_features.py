"""Chat features people expect: export and import, per-chat settings, kept answer versions,
stored stats, chat search, on a tiny generated model with the real embedder and store."""

from __future__ import annotations

import json

import pytest

from assistant.chat.answering import AskOptions
from assistant.chat.chat_file import check_settings
from assistant.chat.chat_settings import ChatSettings, KnowledgeScope, apply_chat_settings
from assistant.chat.events import Done, Sources
from assistant.chat.export import (
    ChatImportError,
    chat_to_markdown,
    export_chat,
    import_chat,
)
from assistant.chat.versions import choose_version
from assistant.config import Settings
from assistant.core import Loremind
from assistant.paths import app_paths


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    from assistant.bench.synthetic import write_tiny_model
    from assistant.engine import LocalModel

    path = write_tiny_model(tmp_path_factory.mktemp("chat-models") / "tiny.gguf", context=2048)
    model = LocalModel.load(path, context_size=2048)
    yield model
    model.close()


@pytest.fixture
def assistant(chat_model, embedder, store):
    settings = Settings()
    settings.generation.max_tokens = 12
    return Loremind(app_paths(), settings, model=chat_model, embedder=embedder, store=store)


@pytest.fixture
def folders(tmp_path, assistant):
    """Two indexed folders: one about espresso, one about trains."""
    from assistant.knowledge import Indexer

    coffee, trains = tmp_path / "coffee", tmp_path / "trains"
    for folder, text in ((coffee, "Espresso is brewed at 93 degrees with 18 grams of coffee."),
                         (trains, "The night train to Vienna leaves at 21:40 from platform 4.")):
        folder.mkdir()
        (folder / "notes.md").write_text(f"# Notes\n\n{text}\n")
        Indexer(assistant.parts.store, assistant.parts.embedder).sync(folder)
    return coffee, trains


def answer(events):
    collected = list(events)
    assert isinstance(collected[-1], Done), collected[-1]
    return collected


def test_export_delete_import_restores_the_chat(assistant, folders, tmp_path):
    from assistant.bench.synthetic import write_lora
    from assistant.engine import read_gguf

    adapters = app_paths().adapters_dir
    adapters.mkdir(parents=True, exist_ok=True)
    write_lora(adapters / "style.gguf", read_gguf(assistant.parts.model.path), name="style")
    session = assistant.chat.new_session()
    session.settings = ChatSettings(system_prompt="Answer like a barista.", temperature=0.1)
    answer(assistant.chat.ask(session, "At what temperature is espresso brewed?"))
    assistant.adapters.set_for_chat(session, [("style", 0.5)])
    answer(assistant.chat.regenerate(session))
    answer(assistant.chat.ask(session, "And how many grams of coffee?"))
    before = assistant.parts.conversations.get(session.id)
    assert before.messages[1].sources, "the espresso notes are cited"
    assert len(before.messages[1].versions) == 2

    as_json = export_chat(before, tmp_path / "chat.json")
    as_markdown = export_chat(before, tmp_path / "chat.md")
    assistant.parts.conversations.delete(session.id)
    assert not assistant.parts.conversations.exists(session.id)
    restored = import_chat(assistant.parts.conversations, as_json)

    again = assistant.parts.conversations.get(restored.id)
    assert again.id == session.id
    assert again.title == before.title
    assert again.adapters == before.adapters
    assert [(a["name"], a["scale"]) for a in again.adapters] == [("style", 0.5)]
    assert again.settings == before.settings
    for old, new in zip(before.messages, again.messages, strict=True):
        assert (new.role, new.text, new.sources, new.memories_used, new.stats, new.versions,
                new.version) == (old.role, old.text, old.sources, old.memories_used, old.stats,
                                 old.versions, old.version)
    text = as_markdown.read_text(encoding="utf-8")
    assert text.startswith(f"# {before.title}\n")
    assert text.count("## You") == 2 and text.count("## Loremind") == 2
    assert "notes.md" in text and "Answer 2 of 2" in text and "style ×0.5" in text
    copy = import_chat(assistant.parts.conversations, as_json)
    assert copy.id != session.id  # a copy, not a clash


def test_import_refuses_other_files(assistant, tmp_path):
    other = tmp_path / "memories.json"
    other.write_text(json.dumps({"memories": []}))
    with pytest.raises(ChatImportError, match="not a chat exported by Loremind"):
        import_chat(assistant.parts.conversations, other)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ChatImportError, match="is not valid JSON"):
        import_chat(assistant.parts.conversations, broken)


def test_chat_settings_fill_only_what_the_caller_left_open():
    defaults = Settings().generation
    chat = ChatSettings(system_prompt="Be brief.", max_tokens=7, knowledge=KnowledgeScope.NONE)
    options = apply_chat_settings(AskOptions(), chat, defaults)
    assert options.system_prompt == "Be brief."
    assert options.sampling is not None and options.sampling.max_tokens == 7
    assert options.sampling.temperature == defaults.temperature
    assert not options.use_knowledge
    plain = apply_chat_settings(AskOptions(), ChatSettings(), defaults)
    assert plain.system_prompt == defaults.system_prompt and plain.use_knowledge
    assert check_settings(json.loads(chat.to_json()), "settings") == chat
    assert ChatSettings().to_json() == ""


def test_chat_settings_reach_the_answer(assistant, folders):
    coffee, trains = folders
    plain, custom = assistant.chat.new_session(), assistant.chat.new_session()
    # Greedy, and a limit of one token: the random model's plain answer may end after a few.
    plain.settings = ChatSettings(temperature=0.0)
    custom.settings = ChatSettings(system_prompt="You are a barista. " * 40, max_tokens=1,
                                   temperature=0.0)
    first = answer(assistant.chat.ask(plain, "When does the night train to Vienna leave?"))
    second = answer(assistant.chat.ask(custom, "When does the night train to Vienna leave?"))
    assert second[-1].stats.completion_tokens == 1 < first[-1].stats.completion_tokens
    assert second[-1].stats.prompt_tokens > first[-1].stats.prompt_tokens + 200
    assert any("trains" in c.path for c in first[0].citations)

    some = assistant.chat.new_session()
    some.settings = ChatSettings(knowledge=KnowledgeScope.SOME, folders=[str(coffee)])
    events = answer(assistant.chat.ask(some, "When does the night train to Vienna leave?"))
    cited = next(e for e in events if isinstance(e, Sources)).citations
    assert all(str(coffee) in c.path for c in cited)
    none = assistant.chat.new_session()
    none.settings = ChatSettings(knowledge=KnowledgeScope.NONE)
    events = answer(assistant.chat.ask(none, "When does the night train to Vienna leave?"))
    assert next(e for e in events if isinstance(e, Sources)).citations == []
    assert assistant.parts.conversations.get(none.id).settings.knowledge == KnowledgeScope.NONE


def test_regenerate_keeps_earlier_answers_to_page_through(assistant):
    session = assistant.chat.new_session()
    first = answer(assistant.chat.ask(session, "Say something"))[-1].text
    second = answer(assistant.chat.regenerate(session))[-1].text
    answer(assistant.chat.regenerate(session))
    last = session.messages[-1]
    assert [v["text"] for v in last.versions][:2] == [first, second]
    assert (len(last.versions), last.version) == (3, 2)
    choose_version(assistant.parts.conversations, session, last, 0)
    stored = assistant.parts.conversations.get(session.id).messages[-1]
    assert (stored.text, stored.version, len(stored.versions)) == (first, 0, 3)
    assert [m.role for m in assistant.parts.conversations.get(session.id).messages] == \
        ["user", "assistant"]


def test_answer_stats_and_stopped_marker_are_stored(assistant):
    session = assistant.chat.new_session()
    answer(assistant.chat.ask(session, "Hello"))
    options = AskOptions()
    options.cancel.set()
    answer(assistant.chat.ask(session, "Tell me more", options))
    stored = assistant.parts.conversations.get(session.id).messages
    assert stored[1].stats["completion_tokens"] > 0 and stored[1].stats["seconds"] > 0
    assert stored[3].stats["finish_reason"] == "cancelled"


def test_chat_search_matches_words_and_meaning_only(assistant):
    espresso, cats = assistant.chat.new_session(), assistant.chat.new_session()
    answer(assistant.chat.ask(espresso, "At what temperature should we brew espresso?"))
    answer(assistant.chat.ask(cats, "Tell me a long story about a cat"))
    find = assistant.parts.conversations.find_chats
    assert find("xyzzy") == []
    assert find("coffee brewing heat") == [espresso.id]
    assert find("cat story") == [cats.id]
    assert set(find("")) == {espresso.id, cats.id}


def test_markdown_export_of_a_fresh_chat(assistant):
    session = assistant.chat.new_session()
    answer(assistant.chat.ask(session, "Hello"))
    text = chat_to_markdown(session)
    assert "## You\n\nHello" in text and "tokens" in text


def test_old_databases_gain_the_new_columns(loremind_home):
    from assistant.migrations import MIGRATIONS, open_database
    from assistant.store import Store

    folder = app_paths().ensure().database_dir
    old = Store.open(folder, MIGRATIONS[:3])
    old.table("sessions").add([{"id": "abc", "title": "Old chat", "created_at": 1.0,
                                "updated_at": 1.0, "model": "", "adapters": "[]"}])
    store = open_database(app_paths())
    names = store.table("messages").schema.names
    assert names[-2:] == ["stats", "versions"]
    assert "settings" in store.table("sessions").schema.names
    from assistant.chat.conversations import Conversations

    assert Conversations(store, None).get("abc").settings == ChatSettings()  # type: ignore[arg-type]
