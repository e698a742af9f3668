"""Saved chat states: an LRU within a byte budget, restored into the tiny model exactly."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import load_settings
from assistant.engine import LocalModel, SamplingParams
from assistant.engine.chat_states import ChatStates, SavedState
from assistant.errors import ConfigError


def state(size: int) -> SavedState:
    return SavedState(np.zeros(0, dtype=np.int32), b"x" * size)


def test_least_recently_used_states_go_first_within_the_budget():
    states = ChatStates(budget_bytes=250)
    assert states.put("a", state(100)) and states.put("b", state(100))
    assert states.put("c", state(100))  # "a" is evicted to make room
    assert states.take("a") is None
    assert states.take("b") is not None and states.take("b") is None  # taken once
    assert not states.put("huge", state(251)), "a state over the whole budget is not kept"
    assert states.used_bytes == 100


def test_chat_state_budget_is_validated(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[model]\nchat_state_mb = -1\n")
    with pytest.raises(ConfigError, match="chat_state_mb.*between 0"):
        load_settings(config)
    config.write_text("[model]\nchat_state_mb = 64\n")
    assert load_settings(config).model.chat_state_mb == 64


def test_leaving_and_entering_chats_restores_the_cache(tiny_model_path):
    model = LocalModel.load(tiny_model_path, context_size=512)
    try:
        greedy = SamplingParams.greedy(8)
        first = [{"role": "user", "content": "the cat sat on the mat " * 6}]
        second = [{"role": "user", "content": "hello world yes no " * 6}]
        model.enter_chat("one")
        answer = model.stream_chat(first, greedy).read()
        model.leave_chat("two")
        assert not model.enter_chat("two"), "chat two has no saved state yet"
        model.stream_chat(second, greedy).read()
        model.leave_chat("one")
        assert model.enter_chat("one"), "chat one's state comes back"
        follow_up = [*first, {"role": "assistant", "content": answer},
                     {"role": "user", "content": "the dog"}]
        restored = model.stream_chat(follow_up, greedy)
        restored_text = restored.read()
        assert restored.stats.evaluated_tokens < restored.stats.prompt_tokens / 2
        model.drop_cache()
        fresh = model.stream_chat(follow_up, greedy)
        assert fresh.read() == restored_text
        assert fresh.stats.evaluated_tokens == fresh.stats.prompt_tokens
    finally:
        model.close()
