"""Streaming chat on real llama.cpp: stop strings, cancellation, context budget, cache reuse."""

from __future__ import annotations

import threading

import pytest

from assistant.bench.synthetic import write_tiny_model
from assistant.config import Settings
from assistant.engine import LocalModel, SamplingParams
from assistant.engine.chat_template import CHATML_TEMPLATE
from assistant.engine.model import _gpu_plan, _split_at_stop, common_prefix
from assistant.errors import ContextOverflowError

HELLO = [{"role": "user", "content": "hello world the cat sat on the mat"}]


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    model = LocalModel.load(tiny_model_path, context_size=256, seed=7)
    yield model
    model.close()


def test_greedy_is_deterministic_and_counts_tokens(tiny):
    first = tiny.stream_chat(HELLO, SamplingParams.greedy(20))
    text = first.read()
    again = tiny.stream_chat(HELLO, SamplingParams.greedy(20))
    assert again.read() == text
    assert first.stats.completion_tokens == len(first.stats.completion_ids) <= 20
    assert first.stats.prompt_tokens == tiny.count_tokens(HELLO)


def test_stop_string_ends_generation_and_is_not_returned(tiny):
    full = tiny.stream_chat(HELLO, SamplingParams.greedy(40)).read()
    assert len(full) > 12, "the tiny model should produce some text"
    stop = full[6:9]
    expected = full[: full.index(stop)]
    stream = tiny.stream_chat(HELLO, SamplingParams.greedy(40), stop=[stop])
    assert stream.read() == expected
    assert stream.stats.finish_reason == "stop"


def test_split_at_stop_holds_back_partial_matches():
    assert _split_at_stop("Hello Us", ["User:"]) == ("Hello ", "Us", False)
    assert _split_at_stop("Hello User: hi", ["User:"]) == ("Hello ", "", True)
    assert _split_at_stop("plain", []) == ("plain", "", False)


def test_cancel_from_another_thread_takes_effect_within_one_token(tiny):
    cancel = threading.Event()
    stream = tiny.stream_chat(HELLO, SamplingParams(temperature=1.0, max_tokens=200),
                              cancel=cancel)
    seen = 0
    for _ in stream:
        seen = stream.stats.completion_ids.__len__()
        if seen == 3:
            threading.Thread(target=cancel.set).start()
            cancel.wait()
    assert stream.stats.finish_reason == "cancelled"
    assert stream.stats.completion_tokens <= 4


def test_prompt_larger_than_context_is_refused(tiny):
    long = [{"role": "user", "content": "the cat sat on the mat " * 200}]
    assert tiny.count_tokens(long) > tiny.n_ctx
    with pytest.raises(ContextOverflowError) as caught:
        tiny.stream_chat(long)
    assert caught.value.available == tiny.n_ctx


def test_generation_never_runs_past_the_context(tiny):
    words = 1
    while tiny.count_tokens([{"role": "user", "content": "the " * (words + 1)}]) < tiny.n_ctx - 20:
        words += 1
    near_full = [{"role": "user", "content": "the " * words}]
    prompt = tiny.count_tokens(near_full)
    stream = tiny.stream_chat(near_full, SamplingParams(temperature=1.0, max_tokens=10_000))
    stream.read()
    assert prompt + stream.stats.completion_tokens == tiny.n_ctx
    assert stream.stats.finish_reason == "length"


def test_model_without_template_uses_chatml(tmp_path):
    path = write_tiny_model(tmp_path / "plain.gguf", chat_template=None)
    model = LocalModel.load(path, context_size=128)
    try:
        assert model.template.is_fallback
        assert model.template.source == CHATML_TEMPLATE
        assert model.render(HELLO).endswith("<|im_start|>assistant\n")
        model.stream_chat(HELLO, SamplingParams.greedy(4)).read()
    finally:
        model.close()


def test_tiny_prefix_reuse(tiny):
    tiny.drop_cache()
    history = list(HELLO)
    first = tiny.stream_chat(history, SamplingParams.greedy(8))
    first.read()
    assert first.stats.evaluated_tokens == first.stats.prompt_tokens
    history += [{"role": "assistant", "content": first.text},
                {"role": "user", "content": "yes and no"}]
    second = tiny.stream_chat(history, SamplingParams.greedy(8))
    second.read()
    assert second.stats.evaluated_tokens < second.stats.prompt_tokens / 2


def test_gpu_plan():
    assert _gpu_plan("auto", False, 30) == [0]
    assert _gpu_plan("auto", True, 30) == [-1, 15, 7, 3, 1, 0]
    assert _gpu_plan(12, True, 30) == [12]


@pytest.mark.slow
def test_embedded_model_answers(embedded_model):
    messages = [{"role": "system", "content": Settings().generation.system_prompt},
                {"role": "user", "content": "What is the capital of France?"}]
    answer = embedded_model.stream_chat(messages, SamplingParams.greedy(40)).read()
    assert "Paris" in answer


@pytest.mark.slow
def test_follow_up_turn_evaluates_only_its_new_tokens(embedded_model):
    """Turn 2 must reuse the KV cache: only the tokens after turn 1's reply are evaluated."""
    model = embedded_model
    model.drop_cache()
    history = [{"role": "user", "content": "Name a fruit that is yellow."}]
    first_prompt = model.prompt_tokens(history)
    first = model.stream_tokens(first_prompt, SamplingParams.greedy(24))
    first.read()
    seen = first_prompt + first.stats.completion_ids
    history += [{"role": "assistant", "content": first.text},
                {"role": "user", "content": "And one that is red?"}]
    second_prompt = model.prompt_tokens(history)
    new_tokens = len(second_prompt) - common_prefix(second_prompt, seen)
    second = model.stream_tokens(second_prompt, SamplingParams.greedy(24))
    second.read()
    assert second.stats.prompt_tokens == len(second_prompt)
    assert abs(second.stats.evaluated_tokens - new_tokens) <= 4
    assert second.stats.evaluated_tokens < len(second_prompt) // 2


def test_a_model_without_a_chat_template_stops_at_chatml_markers_and_says_why(tmp_path):
    """A base model writes ChatML's markers as plain text and goes on; the fallback stops
    there, and the model says it has no template (doctor, the Models page, the first answer)."""
    from llama_cpp import LlamaGrammar

    path = write_tiny_model(tmp_path / "base.gguf", chat_template=None)
    model = LocalModel.load(path, context_size=256, seed=7)
    try:
        assert model.template.is_fallback
        assert "no chat template" in model.template_note and "base model" in model.template_note
        # The grammar makes the noise model write what a base model writes after its answer.
        grammar = LlamaGrammar.from_string(
            'root ::= "Paris is the capital.<|im_end|>\\n<|im_start|>user\\nAnd Spain?"')
        stream = model.stream_chat(HELLO, SamplingParams.greedy(60), grammar=grammar)
        assert stream.read() == "Paris is the capital."
    finally:
        model.close()
    templated = LocalModel.load(write_tiny_model(tmp_path / "chat.gguf"), context_size=256)
    try:
        assert templated.template_note == "" and templated.template.stop_strings == ()
    finally:
        templated.close()
