"""Bad model files are refused with a readable ModelError, and the process survives."""

from __future__ import annotations

import os

import gguf
import numpy as np
import pytest

from assistant.bench.synthetic import write_lora, write_tiny_model
from assistant.engine import LocalModel, read_gguf
from assistant.errors import ModelError


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        LocalModel.load(tmp_path / "nowhere.gguf")


def test_directory(tmp_path):
    with pytest.raises(ModelError, match="is a folder"):
        LocalModel.load(tmp_path)


def test_unreadable_file(tiny_model_path, monkeypatch):
    # Tests run as root, for whom chmod 000 still reads: simulate the permission check failing.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tiny_model_path)
                        else real_access(p, mode))
    with pytest.raises(ModelError, match="permission denied"):
        LocalModel.load(tiny_model_path)


def test_not_gguf(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_text("this is a text file, not a model\n" * 10)
    with pytest.raises(ModelError, match="not a GGUF file"):
        LocalModel.load(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    with pytest.raises(ModelError, match="not a GGUF file"):
        LocalModel.load(path)


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated(tmp_path, tiny_model_path, keep):
    data = tiny_model_path.read_bytes()
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelError, match="truncated|damaged"):
        LocalModel.load(path)


def test_header_cut_inside_metadata(tmp_path, tiny_model_path):
    path = tmp_path / "cut.gguf"
    path.write_bytes(tiny_model_path.read_bytes()[:200])
    with pytest.raises(ModelError, match="damaged|truncated"):
        LocalModel.load(path)


def test_unknown_architecture(tmp_path):
    path = write_tiny_model(tmp_path / "odd.gguf", architecture="frobnicator")
    with pytest.raises(ModelError, match="frobnicator"):
        LocalModel.load(path)


def test_adapter_given_as_model(tmp_path, tiny_model_path):
    adapter = write_lora(tmp_path / "style.gguf", read_gguf(tiny_model_path))
    with pytest.raises(ModelError, match="adapter, not a model"):
        LocalModel.load(adapter)


def test_valid_header_but_missing_weights(tmp_path):
    """A file llama.cpp itself rejects (a tensor is missing) becomes a ModelError too."""
    path = tmp_path / "incomplete.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(64)
    writer.add_embedding_length(8)
    writer.add_block_count(1)
    writer.add_feed_forward_length(16)
    writer.add_head_count(2)
    writer.add_head_count_kv(2)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelError, match="could not load"):
        LocalModel.load(path)


def test_good_file_reports_metadata(tiny_model_path):
    info = read_gguf(tiny_model_path)
    assert info.kind == "model"
    assert info.architecture == "llama"
    assert info.context_length == 512
    assert info.tensors["blk.0.attn_q.weight"] == (64, 64)
    assert info.size_bytes == tiny_model_path.stat().st_size
