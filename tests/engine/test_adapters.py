"""LoRA hot-swap on real llama.cpp: logits under each set, the stale-cache trap, residency."""

from __future__ import annotations

import llama_cpp
import numpy as np
import pytest

from assistant.bench.synthetic import write_lora
from assistant.engine import LocalModel, SamplingParams, read_gguf
from assistant.engine.adapter_files import AdapterCatalog
from assistant.engine.adapters import AdapterLibrary, AdapterSet
from assistant.errors import AdapterError

PROMPT = [{"role": "user", "content": "hello world the cat sat on the mat"}]


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    model = LocalModel.load(tiny_model_path, context_size=256, seed=7)
    yield model
    model.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tiny_model_path):
    """Two LoRA adapters for the tiny model, on different tensors, with different alphas."""
    base = read_gguf(tiny_model_path)
    folder = tmp_path_factory.mktemp("adapters")
    write_lora(folder / "style.gguf", base, targets=("attn_q", "attn_v"), seed=1)
    write_lora(folder / "facts.gguf", base, targets=("ffn_up", "ffn_down"), rank=2, alpha=0,
               seed=2)
    return folder


@pytest.fixture
def library(tiny, folder):
    library = AdapterLibrary(tiny, AdapterCatalog([folder], tiny.info))
    yield library
    library.close()


def next_logits(model: LocalModel, prompt: list[int]) -> np.ndarray:
    """Logits of the token after ``prompt``, reusing the cached prefix exactly as generation
    does: a stale cache shows up here as it would in an answer."""
    with model.lock:
        keep = model._reusable_prefix(prompt)
        model.llama.n_tokens = keep
        model.llama.eval(prompt[keep:])
        row = llama_cpp.llama_get_logits_ith(model.llama.ctx, -1)
        return np.ctypeslib.as_array(row, shape=(model.llama.n_vocab(),)).copy()


def fresh_logits(model: LocalModel, prompt: list[int]) -> np.ndarray:
    """Logits computed from an empty cache under whatever set is active."""
    with model.lock:
        model.llama.reset()
        return next_logits(model, prompt)


@pytest.fixture
def prompt(tiny):
    return tiny.prompt_tokens(PROMPT)


def test_an_adapter_changes_the_logits(library, tiny, prompt):
    base = fresh_logits(tiny, prompt)
    assert library.apply([("style", 1.0)])
    assert not np.allclose(next_logits(tiny, prompt), base)


def test_scale_zero_and_clearing_give_exactly_the_base_logits(library, tiny, prompt):
    base = fresh_logits(tiny, prompt)
    assert not library.apply([("style", 0.0)])  # nothing changed: the cache stays
    assert np.array_equal(fresh_logits(tiny, prompt), base)
    library.apply([("style", 1.0), ("facts", 0.5)])
    assert library.clear()
    # Every test compares full evaluations: re-evaluating only the last token differs in the
    # last bits (other kernels), so equality also shows that switching dropped the cache.
    assert np.array_equal(next_logits(tiny, prompt), base)


def test_reapplying_gives_exactly_the_first_result(library, tiny, prompt):
    library.apply([("style", 0.8)])
    first = next_logits(tiny, prompt)
    library.apply([("facts", 1.0)])
    next_logits(tiny, prompt)
    library.apply([("style", 0.8)])
    assert np.array_equal(next_logits(tiny, prompt), first)


def test_two_adapters_stacked_differ_from_each_alone(library, tiny, prompt):
    library.apply([("style", 1.0)])
    style = next_logits(tiny, prompt)
    library.apply([("facts", 1.0)])
    facts = next_logits(tiny, prompt)
    library.apply([("style", 1.0), ("facts", 1.0)])
    both = next_logits(tiny, prompt)
    assert not np.allclose(both, style)
    assert not np.allclose(both, facts)


def test_the_scale_is_passed_through(library, tiny, prompt):
    library.apply([("style", 0.5)])
    half = next_logits(tiny, prompt)
    library.apply([("style", 1.0)])
    assert not np.allclose(next_logits(tiny, prompt), half)


CHATS = {"a": [("style", 1.0)], "b": [("facts", 0.7), ("style", 0.3)], "base": []}


def alternate_chats(library: AdapterLibrary, model: LocalModel, prompt: list[int],
                    rounds: int = 3) -> list[tuple[str, np.ndarray]]:
    seen = []
    for _ in range(rounds):
        for chat, adapters in CHATS.items():
            library.apply(adapters)
            seen.append((chat, next_logits(model, prompt)))
    return seen


def references(library: AdapterLibrary, model: LocalModel, prompt: list[int]) -> dict:
    refs = {}
    for chat, adapters in CHATS.items():
        library.apply(adapters)
        refs[chat] = fresh_logits(model, prompt)
    return refs


def test_alternating_chats_each_get_their_own_logits(library, tiny, prompt):
    # The chats share the whole prompt, so any reuse of another set's cache would show.
    refs = references(library, tiny, prompt)
    for chat, logits in alternate_chats(library, tiny, prompt):
        assert np.array_equal(logits, refs[chat]), f"chat {chat} saw another chat's weights"


def test_without_the_cache_drop_the_alternation_test_fails(library, tiny, prompt, monkeypatch):
    """Proves the test above catches the stale-cache bug: without the drop, answers are
    computed over another set's cached prompt, far beyond rounding differences."""
    refs = references(library, tiny, prompt)
    monkeypatch.setattr(tiny, "drop_cache", lambda: None)
    errors = [float(np.abs(logits - refs[chat]).max())
              for chat, logits in alternate_chats(library, tiny, prompt)]
    assert max(errors) > 0.05


def test_alternating_chats_generate_as_if_alone(library, tiny):
    chats = {"a": ([("style", 1.0)], PROMPT),
             "b": ([("facts", 1.0)], PROMPT + [{"role": "assistant", "content": "yes"}])}
    alone = {}
    for chat, (adapters, messages) in chats.items():
        library.apply(adapters)
        tiny.drop_cache()
        alone[chat] = tiny.stream_chat(messages, SamplingParams.greedy(12)).read()
    for _ in range(2):
        for chat, (adapters, messages) in chats.items():
            library.apply(adapters)
            assert tiny.stream_chat(messages, SamplingParams.greedy(12)).read() == alone[chat]


def test_the_cache_is_kept_when_the_set_does_not_change(library, tiny, prompt):
    library.apply([("style", 1.0)])
    next_logits(tiny, prompt)
    assert not library.apply([("style", 1.0)])
    assert not library.apply([("style", 1.0), ("facts", 0.0)])  # a zero scale is no adapter
    assert tiny.llama.n_tokens == len(prompt)
    assert library.apply([("style", 0.9)])
    assert tiny.llama.n_tokens == 0


def test_least_recently_used_inactive_adapters_are_freed(library, tiny):
    library.max_resident_bytes = 0  # nothing fits: only the active set stays
    library.apply([("style", 1.0)])
    assert [i.name for i in library.resident] == ["style"]
    library.apply([("facts", 1.0)])
    assert [i.name for i in library.resident] == ["facts"]
    library.apply([("style", 1.0), ("facts", 1.0)])
    assert sorted(i.name for i in library.resident) == ["facts", "style"]
    library.max_resident_bytes = 10**9
    library.apply([])
    assert len(library.resident) == 2


def test_bad_requests_raise_and_leave_the_set_alone(library, tiny, prompt):
    library.apply([("style", 1.0)])
    before = next_logits(tiny, prompt)
    with pytest.raises(AdapterError, match="No adapter called 'nope'"):
        library.apply([("nope", 1.0)])
    with pytest.raises(AdapterError, match="listed twice"):
        library.apply([("style", 1.0), ("style", 0.5)])
    with pytest.raises(AdapterError, match="must be a number"):
        library.apply([("facts", float("nan"))])
    assert [i.name for i, _ in library.active] == ["style"]
    assert tiny.llama.n_tokens == len(prompt)  # the cache was not dropped either
    assert np.array_equal(fresh_logits(tiny, prompt), before)


def test_a_null_pointer_from_llama_cpp_is_an_adapter_error(library, monkeypatch):
    monkeypatch.setattr(llama_cpp, "llama_adapter_lora_init",
                        lambda model, path: llama_cpp.llama_adapter_lora_p_ctypes())
    with pytest.raises(AdapterError, match="could not load"):
        library.apply([("style", 1.0)])
    assert library.active == () and library.resident == []


def test_a_file_changed_on_disk_is_reloaded(tiny, tiny_model_path, tmp_path, prompt):
    base = read_gguf(tiny_model_path)
    path = write_lora(tmp_path / "mood.gguf", base, seed=5)
    library = AdapterLibrary(tiny, AdapterCatalog([tmp_path], tiny.info))
    try:
        library.apply([("mood", 1.0)])
        old = next_logits(tiny, prompt)
        write_lora(path, base, seed=6)
        assert library.apply([("mood", 1.0)])
        assert not np.allclose(next_logits(tiny, prompt), old)
    finally:
        library.close()


def test_a_stored_set_is_restored_or_explained(tiny, tiny_model_path, tmp_path):
    base = read_gguf(tiny_model_path)
    for name, seed in (("kept", 1), ("moved", 2), ("changed", 3), ("gone", 4)):
        write_lora(tmp_path / f"{name}.gguf", base, seed=seed)
    library = AdapterLibrary(tiny, AdapterCatalog([tmp_path], tiny.info))
    try:
        library.apply([("kept", 1.0), ("moved", 0.5), ("changed", 0.25), ("gone", 2.0)])
        stored = AdapterSet.from_list(library.record().to_list())
        assert [(c.name, c.scale) for c in stored.choices] == [
            ("kept", 1.0), ("moved", 0.5), ("changed", 0.25), ("gone", 2.0)]
        (tmp_path / "moved.gguf").rename(tmp_path / "renamed.gguf")
        write_lora(tmp_path / "changed.gguf", base, seed=30)
        (tmp_path / "gone.gguf").unlink()
        resolved = library.resolve(stored)
        assert [(i.path.name, s) for i, s in resolved.adapters] == [
            ("kept.gguf", 1.0), ("renamed.gguf", 0.5), ("changed.gguf", 0.25)]
        assert len(resolved.warnings) == 2
        assert "'changed' has changed" in resolved.warnings[0]
        assert "'gone' is gone" in resolved.warnings[1]
        assert library.apply(resolved.adapters)
    finally:
        library.close()


def test_closing_the_model_first_is_safe(tiny_model_path, folder):
    model = LocalModel.load(tiny_model_path, context_size=128)
    library = AdapterLibrary(model, AdapterCatalog([folder], model.info))
    library.apply([("style", 1.0)])
    model.close()
    library.close()  # llama.cpp freed the adapters with the model: nothing is freed twice
    with pytest.raises(AdapterError, match="closed"):
        library.apply([("style", 1.0)])


def test_hot_swap_matches_loading_the_adapter_with_the_model(embedded_model, tmp_path):
    """Greedy tokens through hot-swap equal those of a fresh ``Llama(lora_path=...)``."""
    adapter = write_lora(tmp_path / "smol-style.gguf", embedded_model.info,
                         targets=("attn_q", "attn_v", "ffn_up"), rank=8, seed=3)
    prompt = embedded_model.prompt_tokens([{"role": "user", "content": "Name a colour."}])
    greedy = SamplingParams.greedy(10)
    library = AdapterLibrary(embedded_model, AdapterCatalog([tmp_path], embedded_model.info))
    try:
        base = embedded_model.stream_tokens(prompt, greedy)
        base.read()
        library.apply([("smol-style", 1.0)])
        swapped = embedded_model.stream_tokens(prompt, greedy)
        swapped.read()
    finally:
        library.close()
    reference = llama_cpp.Llama(
        model_path=str(embedded_model.path), lora_path=str(adapter), n_ctx=embedded_model.n_ctx,
        n_threads=embedded_model.llama.n_threads,
        n_threads_batch=embedded_model.llama.n_threads_batch,
        n_gpu_layers=embedded_model.report.n_gpu_layers, verbose=False)
    try:
        expected = []
        for token in reference.generate(prompt, temp=0.0, top_k=1, top_p=1.0, min_p=0.0,
                                        repeat_penalty=1.0):
            if llama_cpp.llama_vocab_is_eog(llama_cpp.llama_model_get_vocab(reference.model),
                                            token) or len(expected) == 10:
                break
            expected.append(token)
    finally:
        reference.close()
    assert swapped.stats.completion_ids == expected
    assert swapped.stats.completion_ids != base.stats.completion_ids  # the adapter mattered
