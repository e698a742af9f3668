"""Prompts that keep llama.cpp's cache: follow-up turns, chats that outgrow the context, and
going back to a chat, measured with llama.cpp's own counters on the real embedded model."""

from __future__ import annotations

import pytest

from assistant.bench.documents import DOCUMENTS, MEMORIES, QUESTIONS, write_documents
from assistant.bench.engine import ChatRun
from assistant.chat.answering import AskOptions
from assistant.config import Settings
from assistant.core import Loremind
from assistant.engine import LocalModel, SamplingParams
from assistant.knowledge.indexer import Indexer
from assistant.paths import app_paths

pytestmark = pytest.mark.slow
REPLY = SamplingParams.greedy(24)


@pytest.fixture
def assistant(embedded_model, embedder, store, tmp_path, monkeypatch):
    embedded_model.drop_cache()
    embedded_model.chat_states.clear()
    # Fixed threads: another thread count changes the last bits of the logits, and with them
    # greedy answers, which would blur what these tests compare (cache reuse, restored state).
    monkeypatch.setattr(embedded_model, "thread_policy", None)
    folder = tmp_path / "docs"
    write_documents(folder)
    Indexer(store, embedder).sync(folder)
    assistant = Loremind(app_paths(), Settings(), model=embedded_model, embedder=embedder,
                          store=store)
    for text in MEMORIES:
        assistant.parts.memory.remember(text)
    # The sources' budget follows the prompt speed each answer measures, so what a turn adds
    # depends on the machine's load: held at 400 tokens here, three turns fit the 2,048-token
    # context, and a turn asked again is given the same sources.
    speed = assistant.chat.answerer.prompt_speed
    speed.default = speed.tokens_per_s = 100.0
    monkeypatch.setattr(speed, "observe", lambda *measured: None)
    return assistant


def chat_run(core, session):
    """A chat driven through the core, as the engine benchmark drives it."""
    return ChatRun(core, core.parts.model, core.parts.embedder, session)


def test_follow_ups_with_sources_and_memories_evaluate_only_their_new_tokens(assistant):
    run = chat_run(assistant, assistant.chat.new_session())
    turns = [run.ask(text, REPLY) for text in QUESTIONS[:3]]
    answers = [m for m in run.session.messages if m.role == "assistant"]
    assert all(a.sources for a in answers), "each turn was given sources"
    assert all(a.memories_used for a in answers), "each turn was given memories"
    assert [m["text"] for m in answers[0].memories_used] == [
        m["text"] for m in answers[-1].memories_used][: len(answers[0].memories_used)]
    assert turns[0].stats.evaluated_tokens == turns[0].stats.prompt_tokens
    for turn in turns[1:]:
        assert turn.stats.prompt_tokens - turn.new_tokens >= turns[0].stats.prompt_tokens
        assert abs(turn.stats.evaluated_tokens - turn.new_tokens) <= 8, turn.stats
    stored = assistant.parts.conversations.get(run.session.id)
    question = stored.messages[0]
    assert question.text == QUESTIONS[0]
    assert question.sent_text.endswith(QUESTIONS[0]) and "[1]" in question.sent_text


def test_a_new_memory_is_appended_and_the_chat_keeps_the_ones_it_used(assistant):
    run = chat_run(assistant, assistant.chat.new_session())
    run.ask(QUESTIONS[0], REPLY)
    first = [m["text"] for m in run.session.messages[-1].memories_used]
    assistant.parts.memory.remember("I book my train tickets a week ahead.")
    run.ask(QUESTIONS[1], REPLY)  # about a train: the new memory bears on it
    second = [m["text"] for m in run.session.messages[-1].memories_used]
    assert second[: len(first)] == first
    assert second[-1] == "I book my train tickets a week ahead."


def test_a_chat_past_the_context_sheds_history_without_reading_it_again(embedder, store):
    model = LocalModel.load(context_size=1024)
    try:
        assistant = Loremind(app_paths(), Settings(), model=model, embedder=embedder,
                              store=store)
        run = chat_run(assistant, assistant.chat.new_session(temporary=True))
        texts = list(DOCUMENTS.values())
        overflowed = []
        for n in range(10):
            text = f"Summarise this in one line:\n{texts[n % len(texts)][:700]}"
            turn = run.ask(text, REPLY)
            if turn.stats.dropped_turns:
                overflowed.append(turn)
            if len(overflowed) == 3:
                break
        assert len(overflowed) == 3, "the chat never outgrew the context"
        for turn in overflowed:
            assert turn.stats.evaluated_tokens <= turn.new_tokens + 8, turn.stats
            assert turn.stats.evaluated_tokens < turn.stats.prompt_tokens / 2
    finally:
        model.close()


def test_going_back_to_a_chat_restores_its_state_without_reading_it_again(assistant):
    first = chat_run(assistant, assistant.chat.new_session(temporary=True))
    other = chat_run(assistant, assistant.chat.new_session(temporary=True))
    first.ask(QUESTIONS[0], REPLY)
    other.ask(QUESTIONS[4], REPLY)
    assert len(assistant.parts.model.chat_states) == 1, "the first chat's state was kept"
    restored = first.ask(QUESTIONS[1], REPLY)
    assert restored.stats.evaluated_tokens <= restored.new_tokens + 8

    # The same turn again from an empty cache reads the whole prompt the restored state held.
    # (Greedy equality of the two answers is checked on the tiny model in
    # tests/engine/test_chat_states.py and reported by `bench adapters`: on this model one
    # question sits on a near-tie that the order of float sums can flip.)
    assistant.parts.model.drop_cache()
    again = first.ask("", REPLY, regenerate=True)
    assert again.stats.prompt_tokens == restored.stats.prompt_tokens
    assert again.stats.evaluated_tokens == again.stats.prompt_tokens
    assert again.text and restored.text


def test_an_answer_while_knowledge_loads_starts_at_once_and_is_stored_after(embedded_model):
    import threading
    import time

    from assistant.chat.events import Notice, Sources, Token

    embedded_model.drop_cache()
    assistant = Loremind(app_paths().ensure(), Settings(), model=embedded_model)
    session = assistant.chat.new_session()
    loader = threading.Thread(target=assistant.load_knowledge)
    with assistant.parts._store_lock:  # the loader is held at the store until the answer starts
        loader.start()
        while not assistant.parts.knowledge_loading:
            time.sleep(0.01)
        events = assistant.chat.ask(session, "Hello, who are you?", AskOptions(sampling=REPLY))
        first = next(events)
    events = [first, *events]
    loader.join()
    assert [e.citations for e in events if isinstance(e, Sources)] == [[]]
    assert any(isinstance(e, Notice) and "still loading" in e.text for e in events)
    assert any(isinstance(e, Token) for e in events)
    stored = assistant.parts.conversations.get(session.id)
    assert [m.role for m in stored.messages] == ["user", "assistant"]
