"""Training data: only what the user gave, formatted like the model's chats, bad input refused."""

from __future__ import annotations

import json

import pytest

from assistant.bench.synthetic import write_tiny_model
from assistant.errors import TrainingError
from assistant.training.data import IGNORE, MIN_EXAMPLES
from assistant.training.job import LoraSettings
from assistant.training.teach import TeachSource, prepare
from assistant.training.tokens import ModelTokenizer

SETTINGS = LoraSettings(max_tokens=128)


def write_pairs(path, n):
    path.write_text("".join(json.dumps({"prompt": f"the cat {i}", "response": f"yes the dog {i}"})
                            + "\n" for i in range(n)), encoding="utf-8")
    return path


def test_pairs_are_in_the_chat_template_and_only_the_response_counts(tiny_model_path, tmp_path):
    data = prepare(TeachSource("pairs", (write_pairs(tmp_path / "p.jsonl", 20),)),
                   tiny_model_path, SETTINGS, system_prompt="be brief")
    counts = data.counts()
    assert (counts["examples"], counts["heldout_examples"], counts["train_examples"]) == (20, 2, 18)
    tokenizer = ModelTokenizer(tiny_model_path)
    example = data.train[0]
    counted = [t for t in example.labels if t != IGNORE]
    masked = example.input_ids[:len(example.input_ids) - len(counted)]
    # The prompt part is the template's rendering up to the assistant's cue; the counted part is
    # the response and the end of its turn.
    assert tokenizer.detokenize(masked).endswith("<|assistant|>\n")
    assert "<|system|>\nbe brief" in tokenizer.detokenize(masked)
    response = tokenizer.detokenize(counted)
    assert response.startswith("yes the dog") and response.rstrip().endswith("</s>")
    assert example.input_ids[len(masked):] == counted
    assert data.sources[0].kind == "pairs" and len(data.sources[0].sha256) == 64
    preview = data.preview(2)
    assert preview[0]["tokens"] == len(data.examples[0].input_ids)
    assert "→ yes the dog" in preview[0]["text"]


def test_texts_are_cut_into_windows_of_model_tokens_all_counted(tiny_model_path, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for i in range(3):
        (folder / f"note{i}.md").write_text("the cat sat on the mat and the dog is blue. " * 40)
    data = prepare(TeachSource("texts", (folder,)), tiny_model_path, LoraSettings(max_tokens=64))
    assert len(data.examples) >= MIN_EXAMPLES
    assert all(len(e.input_ids) <= 64 for e in data.examples)
    assert all(e.trained_tokens == len(e.input_ids) - 1 for e in data.examples)  # all but BOS
    assert {s.kind for s in data.sources} == {"text"} and len(data.sources) == 3


def test_broken_jsonl_lines_are_named_and_nothing_is_prepared(tiny_model_path, tmp_path):
    path = write_pairs(tmp_path / "p.jsonl", 10)
    with path.open("a") as handle:
        handle.write('{"prompt": "x", "response": \n{"prompt": "only"}\n')
    with pytest.raises(TrainingError, match=r"2 broken lines: line 11: not JSON .*line 12"):
        prepare(TeachSource("pairs", (path,)), tiny_model_path, SETTINGS)


@pytest.mark.parametrize("n", [0, 3])
def test_empty_or_tiny_data_is_refused(tiny_model_path, tmp_path, n):
    path = write_pairs(tmp_path / "p.jsonl", n)
    with pytest.raises(TrainingError, match=f"Too little data: {n} example"):
        prepare(TeachSource("pairs", (path,)), tiny_model_path, SETTINGS)


def test_texts_without_text_are_refused(tiny_model_path, tmp_path):
    (tmp_path / "empty.txt").write_text("   ")
    with pytest.raises(TrainingError, match="No text was found"):
        prepare(TeachSource("texts", (tmp_path / "empty.txt",)), tiny_model_path, SETTINGS)


@pytest.mark.parametrize(("architecture", "reason"), [
    ("qwen2", "transformers can read it, but Loremind has not yet verified"),
    ("grok", "transformers cannot load from GGUF"),
])
def test_unsupported_architectures_are_refused_with_the_reason(tmp_path, architecture, reason):
    model = write_tiny_model(tmp_path / f"{architecture}.gguf", architecture=architecture)
    with pytest.raises(TrainingError, match=reason) as caught:
        prepare(TeachSource("pairs", (write_pairs(tmp_path / "p.jsonl", 10),)), model, SETTINGS)
    assert "Training works with: llama" in str(caught.value)
