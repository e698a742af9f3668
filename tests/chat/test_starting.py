"""At start-up the store and the embedder load after the first answer's first token."""

from __future__ import annotations

import threading
import time

from assistant.chat.answering import AskOptions
from assistant.chat.conversations import ChatSession
from assistant.chat.starting import StartingAnswers
from assistant.config import Settings
from assistant.core import Loremind
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
    settings = Settings()
    settings.generation.max_tokens = 8
    core = Loremind(app_paths().ensure(), settings, model=model, embedder=embedder)
    try:
        # A temporary chat without knowledge: the answer itself needs no store. Holding the
        # model's lock keeps the answer before its first token for as long as the test likes.
        with model.lock:
            events = core.chat.ask(ChatSession(temporary=True), "Hello there",
                                   AskOptions(use_knowledge=False, use_memory=False))
            while core.parts.starting.wait(0):
                time.sleep(0.01)  # until the answer has begun
            loader = threading.Thread(target=core.load_knowledge)
            loader.start()
            time.sleep(0.5)
            assert core.parts._store is None, "the store opened beside the starting answer"
        assert [type(e).__name__ for e in events][-1] == "Done"
        loader.join(60)
        assert core.parts._store is not None
    finally:
        model.close()
