"""The PEFT model on a GGUF base and one training step: shared by the worker and the benchmark.

transformers reads a GGUF file into a dequantized float32 PyTorch model; PEFT adds LoRA matrices
to the attention and MLP projections; only those are trained. This module imports torch, so only
the worker process and the benchmark import it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from assistant.engine.gguf_file import GGUFFile
from assistant.errors import TrainingError
from assistant.training.architectures import check_trainable
from assistant.training.data import IGNORE, Example
from assistant.training.job import LoraSettings


def pick_device() -> torch.device:
    """The GPU when torch sees one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_base(info: GGUFFile, device: torch.device) -> Any:
    """The GGUF model as a float32 transformers model on ``device``, weights frozen."""
    check_trainable(info)
    from transformers import AutoModelForCausalLM

    try:
        model: Any = AutoModelForCausalLM.from_pretrained(
            str(info.path.parent), gguf_file=info.path.name, dtype=torch.float32)
    except (ValueError, OSError, RuntimeError, KeyError) as exc:
        raise TrainingError(f"transformers could not load {info.path.name} for training: "
                            f"{exc}") from exc
    model.to(device)
    model.requires_grad_(False)
    return model


def add_lora(model: Any, settings: LoraSettings) -> Any:
    """Wrap ``model`` with fresh LoRA matrices on the target projections (B starts at zero)."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(settings.seed)
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha,
                        target_modules=list(settings.targets), lora_dropout=0.0, bias="none",
                        task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def make_optimizer(model: Any, lr: float) -> torch.optim.Optimizer:
    """AdamW over the LoRA parameters only."""
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr,
                             weight_decay=0.0)


def batch_order(n_examples: int, batch_size: int, seed: int) -> Iterator[list[int]]:
    """Endless batches of example indices, reshuffled every pass (repeatable from ``seed``)."""
    rng = random.Random(seed)
    while True:
        order = list(range(n_examples))
        rng.shuffle(order)
        for start in range(0, n_examples, batch_size):
            yield order[start:start + batch_size]


def collate(examples: Sequence[Example], pad_id: int, device: torch.device) -> dict[str, Any]:
    """Right-padded tensors; padding is masked from attention and from the loss."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device),
            "attention_mask": mask.to(device)}


def train_step(model: Any, optimizer: torch.optim.Optimizer, batch: dict[str, Any]) -> float:
    """One optimizer step on ``batch``; returns its loss (mean over the counted tokens)."""
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def counted_tokens(batch: dict[str, Any]) -> int:
    """Tokens in ``batch`` that the forward pass reads (padding excluded)."""
    return int(batch["attention_mask"].sum())


def set_threads(threads: int) -> None:
    """Use ``threads`` CPU threads for torch (0 keeps torch's choice)."""
    if threads > 0:
        torch.set_num_threads(threads)

