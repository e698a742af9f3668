"""At start-up the store and the embedder load after the first answer's first token."""

from __future__ import annotations

import threading
import time

from assistant.chat.assistant import AskOptions, Assistant
from assistant.chat.conversations import ChatSession
from assistant.chat.starting import StartingAnswers
from assistant.config import Settings
from assistant.engine import LocalModel
from assistant.paths import app_paths


def test_waiting_ends_at_the_first_token_or_when_the_answer_ends():
    starting = StartingAnswers()
    assert starting.wait(0)
    with starting.answer() as started:
        assert not starting.wait(0.05)
        started()
        assert starting.wait(0)
        started()  # a second token changes nothing
    assert starting.wait(0)
    with starting.answer():
        assert not starting.wait(0.05)
    assert starting.wait(0), "an answer that ends without a token stops counting"


def test_loading_knowledge_lets_a_starting_answer_read_its_prompt_first(tiny_model_path,
                                                                        embedder):
    model = LocalModel.load(tiny_model_path, context_size=512)
    assistant = Assistant(Settings(), app_paths().ensure(), model=model, embedder=embedder)
    try:
        # A temporary chat without knowledge: the answer itself needs no store.
        events = assistant.ask(ChatSession(temporary=True), "Hello there",
                               AskOptions(use_knowledge=False, use_memory=False))
        next(events)  # Sources: the prompt is planned, its first token not given yet
        loader = threading.Thread(target=assistant.load_knowledge)
        loader.start()
        time.sleep(0.5)
        assert assistant._store is None, "the store opened beside the starting answer"
        list(events)
        loader.join(60)
        assert assistant._store is not None
    finally:
        model.close()
