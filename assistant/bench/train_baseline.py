"""The baseline of ``bench train``: a plain PEFT script doing Teach's work, in a process of its own.

``python -m assistant.bench.train_baseline JOB_JSON`` does what a competent user would write with
transformers and PEFT: load the GGUF base with transformers, add LoRA with the same settings,
train the same steps on the same batches of the same examples (the token ids the app prepared,
so both train on identical sequences), save the adapter with ``save_pretrained``, convert the
saved file to a GGUF adapter, and take the held-out loss without and with the adapter in
PyTorch, where the model already is. It prints one JSON line as each phase ends (``loading``
once torch is imported, where the app's worker says it; ``loaded``, ``trained``, ``exported``,
``evaluated``), as the worker does, so both are timed alike from outside.

The conversion is Loremind's (:mod:`assistant.training.export`): llama.cpp's
``convert_lora_to_gguf.py`` ships with neither llama-cpp-python nor ``gguf``, and it wants the
base model's Hugging Face folder, which a user holding only the GGUF does not have, so the tensor
names and llama.cpp's q/k row order would otherwise be the user's own code to write.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.training.data import IGNORE, Example, TrainingData
from assistant.training.job import LoraSettings


def emit(event: str, **fields: Any) -> None:
    """One line on stdout as a phase ends."""
    print(json.dumps({"event": event, **fields}), flush=True)


def run(model_path: Path, data: TrainingData, settings: LoraSettings, out_dir: Path,
        threads: int = 0) -> None:
    """Load, add LoRA, train, save and convert, evaluate; a line after each."""
    import torch

    from assistant.training.loop import batch_order, collate

    # Where the app's worker says it too: transformers and PEFT load with the model in both.
    emit("loading")
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    if threads > 0:
        torch.set_num_threads(threads)
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    base: Any = AutoModelForCausalLM.from_pretrained(
        str(model_path.parent), gguf_file=model_path.name, dtype=torch.float32)
    torch.manual_seed(settings.seed)  # the app's seed: the same LoRA matrices to start from
    model: Any = get_peft_model(base.to(device), LoraConfig(
        r=settings.rank, lora_alpha=settings.alpha, target_modules=list(settings.targets),
        lora_dropout=0.0, bias="none", task_type="CAUSAL_LM"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=settings.lr, weight_decay=0.0)
    emit("loaded")

    order = batch_order(len(data.train), settings.batch_size, settings.seed)
    losses = []
    for _ in range(settings.steps):
        batch = collate([data.train[i] for i in next(order)], 0, device)
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    emit("trained", first_loss=round(losses[0], 5), last_loss=round(losses[-1], 5))

    model.save_pretrained(str(out_dir))
    _convert(out_dir / "adapter_model.safetensors", model_path, settings.alpha,
             out_dir / "adapter.gguf")
    emit("exported")

    model.eval()
    with torch.no_grad():
        with model.disable_adapter():
            before = heldout_loss(model, data.heldout, device)
        after = heldout_loss(model, data.heldout, device)
    emit("evaluated", heldout_loss_before=round(before, 5), heldout_loss_after=round(after, 5))


def _convert(saved: Path, model_path: Path, alpha: float, target: Path) -> None:
    """The saved PEFT adapter as a GGUF adapter for llama.cpp."""
    from safetensors.torch import load_file

    from assistant.engine.gguf_file import read_gguf
    from assistant.training.architectures import permutes_qk
    from assistant.training.export import gguf_lora_tensors, write_gguf_lora

    base = read_gguf(model_path)
    tensors = gguf_lora_tensors(load_file(str(saved)), base,
                                permute_qk=permutes_qk(base.architecture))
    write_gguf_lora(target, tensors, base, alpha=alpha, name=target.stem)


def heldout_loss(model: Any, examples: Sequence[Example], device: Any) -> float:
    """Mean negative log-likelihood of the counted tokens, as the app's evaluation takes it."""
    import torch

    total, count = 0.0, 0
    for example in examples:
        counted = sum(1 for label in example.labels[1:] if label != IGNORE)
        if not counted:
            continue
        ids = torch.tensor([example.input_ids], device=device)
        labels = torch.tensor([example.labels], device=device)
        total += float(model(input_ids=ids, labels=labels).loss) * counted
        count += counted
    return total / count if count else float("nan")


if __name__ == "__main__":  # JOB_JSON: model, dataset, settings, out_dir, threads
    _job = json.loads(sys.argv[1])
    _fields = _job["settings"]
    run(Path(_job["model"]), TrainingData.load(Path(_job["dataset"])),
        LoraSettings(**{**_fields, "targets": tuple(_fields["targets"])}), Path(_job["out_dir"]),
        int(_job["threads"]))
