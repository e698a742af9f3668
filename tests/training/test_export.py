"""The exported GGUF adapter computes in llama.cpp what the trained PEFT adapter computes in
transformers: logits compared on a tiny f32 llama model with grouped-query attention."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from assistant.engine import read_gguf
from assistant.training.evaluate import LlamaScorer
from assistant.training.export import export_peft, permute_rows
from assistant.training.job import LoraSettings
from assistant.training.loop import add_lora, load_base, make_optimizer, train_step

TOKENS = [1, 280, 17, 301, 45, 260, 99, 288, 270, 123, 300, 7, 259, 290, 291, 266]


@pytest.fixture(scope="module")
def trained(tiny_model_path):
    """A PEFT LoRA on every projection, trained a few steps so that every lora_B is non-zero."""
    info = read_gguf(tiny_model_path)
    settings = LoraSettings(rank=4, alpha=8, lr=1e-2)
    model = add_lora(load_base(info, torch.device("cpu")), settings)
    optimizer = make_optimizer(model, settings.lr)
    rng = np.random.default_rng(0)
    for _ in range(4):
        ids = torch.tensor(rng.integers(3, 300, (2, 24)))
        train_step(model, optimizer, {"input_ids": ids, "labels": ids,
                                      "attention_mask": torch.ones_like(ids)})
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([TOKENS])).logits[0].numpy()
    return info, model, settings, logits


def _llama_logits(model_path, adapter_path):
    scorer = LlamaScorer(model_path, n_ctx=64, threads=1)
    try:
        with scorer.adapter(adapter_path):
            return scorer.logits(TOKENS)
    finally:
        scorer.close()


def test_every_target_has_a_nonzero_lora_b(trained):
    _info, model, _settings, _logits = trained
    b = {name: p for name, p in model.named_parameters() if "lora_B" in name}
    for module in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
        mine = [p for name, p in b.items() if f".{module}." in name]
        assert len(mine) == 2, module  # one per block
        assert all(float(p.detach().abs().max()) > 1e-4 for p in mine), module


def test_llama_cpp_with_the_exported_adapter_matches_peft(trained, tiny_model_path, tmp_path):
    info, model, settings, peft_logits = trained
    adapter = export_peft(model, tmp_path / "a.gguf", info, alpha=settings.alpha, name="a",
                          permute_qk=True)
    llama_logits = _llama_logits(tiny_model_path, adapter)
    assert np.abs(llama_logits - peft_logits).max() < 1e-3
    # The adapter matters: without it the logits are far from PEFT's.
    scorer = LlamaScorer(tiny_model_path, n_ctx=64, threads=1)
    base_logits = scorer.logits(TOKENS)
    scorer.close()
    assert np.abs(base_logits - peft_logits).max() > 0.1


def test_without_the_qk_permutation_the_logits_do_not_match(trained, tiny_model_path, tmp_path):
    info, model, settings, peft_logits = trained
    adapter = export_peft(model, tmp_path / "raw.gguf", info, alpha=settings.alpha, name="raw",
                          permute_qk=False)
    assert np.abs(_llama_logits(tiny_model_path, adapter) - peft_logits).max() > 1e-2


def test_permute_rows_groups_by_kv_heads_when_they_differ():
    rows = np.arange(8, dtype=np.float32).reshape(8, 1)
    # 4 query heads but 2 kv heads: k is permuted in 2 groups of 4 rows, each interleaved.
    assert permute_rows(rows, 4, 2)[:, 0].tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    assert permute_rows(rows, 4)[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]  # head size 2
