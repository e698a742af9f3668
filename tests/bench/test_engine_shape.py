"""``bench engine --shape``: random models of a real model's shape, timed against raw llama.cpp."""

from __future__ import annotations

import gguf
import llama_cpp
import pytest

from assistant.bench.engine_shape import compare_on
from assistant.bench.shapes import quantize, shape_entry, shaped_entries, write_shaped_model
from assistant.config import ModelSettings
from assistant.errors import LoremindError
from assistant.models.catalogue import ModelShape

# Every size small, the vocabulary as small as the tokenizer allows (49,152 of SmolLM2 + some).
TINY = {"llama": ModelShape("llama", 49_408, 64, 2, 128, 4, 2, 10_000.0, True),
        "qwen2": ModelShape("qwen2", 49_408, 64, 2, 128, 4, 2, 1_000_000.0, False)}


def test_the_catalogue_gives_the_four_shapes_the_issue_names():
    names = {entry.name for entry in shaped_entries()}
    assert {"qwen2.5-0.5b", "llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b"} <= names
    entry = shape_entry("llama-3.2-3b")
    assert entry.quantization == "Q4_K_M"
    assert entry.shape is not None and (entry.shape.layers, entry.shape.embedding,
                                        entry.shape.vocab) == (28, 3072, 128_256)
    with pytest.raises(LoremindError, match="No model shape called"):
        shape_entry("gemma-3-1b")  # an architecture the writer does not make


@pytest.mark.parametrize("architecture", ["llama", "qwen2"])
def test_a_shaped_model_has_the_shape_and_quantizes_and_runs(tmp_path, architecture):
    shape = TINY[architecture]
    unquantized = write_shaped_model(tmp_path / "f16.gguf", shape, "tiny", 4096)
    quantized = tmp_path / "q.gguf"
    quantize(unquantized, quantized, "Q4_K_M")
    reader = gguf.GGUFReader(str(quantized))
    assert reader.fields["general.architecture"].contents() == architecture
    tensors = {t.name: t for t in reader.tensors}
    assert tuple(tensors["token_embd.weight"].shape) == (shape.embedding, shape.vocab)
    assert ("output.weight" in tensors) is (not shape.tied_output)
    assert ("blk.0.attn_q.bias" in tensors) is (architecture == "qwen2")
    assert len(reader.fields["tokenizer.ggml.tokens"].data) == shape.vocab
    llama = llama_cpp.Llama(str(quantized), n_ctx=256, verbose=False)
    try:
        assert llama.n_vocab() == shape.vocab
        tokens = llama.tokenize(b"Which cities should I visit in Portugal?", add_bos=False)
        assert 5 <= len(tokens) <= 15  # SmolLM2's tokenizer: real text, real token counts
        # Every generated token is a piece of text: control, padding and partial-character
        # tokens are never chosen.
        pieces = [llama.detokenize([t]).decode("utf-8") for t in
                  _take(llama.generate(tokens, temp=0.0, top_k=1), 12)]
        assert all(pieces)
    finally:
        llama.close()


def test_unknown_quantization_is_refused(tmp_path):
    path = write_shaped_model(tmp_path / "f16.gguf", TINY["llama"], "tiny", 4096)
    with pytest.raises(LoremindError, match="no quantization called"):
        quantize(path, tmp_path / "q.gguf", "Q9_Z")


@pytest.mark.slow
def test_the_app_and_raw_llama_cpp_take_turns_on_the_same_tokens(tmp_path):
    path = write_shaped_model(tmp_path / "f16.gguf", TINY["llama"], "tiny", 4096)
    result = compare_on(path, ModelSettings(context_size=4096), "tiny", "F16", follow_ups=1,
                        tokens=6)
    for key in ("prompt_tokens_per_s", "generate_tokens_per_s", "ttft_knowledge_s",
                "peak_rss_mb", "kv_mb"):
        assert result[key] > 0 and result["raw"][key] > 0, key
    assert result["note"].startswith("The model has random weights")
    assert result["kv_mb"] == result["raw"]["kv_mb"]
    assert result["generate_ratio"] > 0 and result["raw_process_ratio"] > 0
    first, follow_up = result["turns"]
    assert first["sources"] and first["memories"]  # the knowledge question, as a user's
    for turn in (first, follow_up):  # the same tokens, the same amount generated
        assert turn["prompt_tokens"] == turn["raw"]["prompt_tokens"]
        assert turn["completion_tokens"] == turn["raw"]["completion_tokens"] == 6
        # Two baselines, one loaded before the app and one after; the turn shows their mean.
        each = turn["raw"]["generate_tokens_per_s_each"]
        assert len(each) == 2 and min(each) > 0
        assert turn["raw"]["generate_tokens_per_s"] == pytest.approx(sum(each) / 2, rel=0.01)
    # The follow-up reuses the cached prefix in both: only its new tokens are read.
    assert follow_up["evaluated_tokens"] < follow_up["prompt_tokens"]
    assert follow_up["raw"]["evaluated_tokens"] < follow_up["raw"]["prompt_tokens"]


def _take(tokens, count):
    taken = []
    for token in tokens:
        taken.append(token)
        if len(taken) == count:
            return taken
    return taken
