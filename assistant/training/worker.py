"""The training process: ``python -m assistant.training.worker JOB_DIR``.

It prints one JSON object per line on stdout: ``loading``, ``probe`` (time and memory estimate),
``step`` (step, loss, tokens/s, seconds left), ``checkpoint``, ``exporting``, ``evaluating``,
then ``done`` with the adapter's path and card, or ``error`` / ``cancelled`` with a message.
SIGTERM cancels: the last checkpoint stays for a resume, and the staging files are removed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from assistant.errors import LoremindError, TrainingError
from assistant.process_memory import peak_rss_bytes
from assistant.training.data import TrainingData
from assistant.training.job import TrainingJob

EXIT_FAILED, EXIT_CANCELLED = 1, 2


class Cancelled(Exception):
    """SIGTERM arrived."""


def emit(event: str, **fields: Any) -> None:
    """One progress line on stdout."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise Cancelled


def main(argv: list[str]) -> int:
    """Run the job in ``argv[0]``; the exit status says done (0), failed (1) or cancelled (2)."""
    job = TrainingJob.load(Path(argv[0]))
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, _on_sigterm)  # Ctrl-C in a terminal reaches the worker too
    try:
        run(job)
    except Cancelled:
        job.clean_staging()
        emit("cancelled", message="Training was cancelled; no adapter was written. Start the "
             "same training again to resume from its last checkpoint.")
        return EXIT_CANCELLED
    except LoremindError as exc:
        job.clean_staging()
        emit("error", message=str(exc))
        return EXIT_FAILED
    except MemoryError:
        job.clean_staging()
        emit("error", message="The machine ran out of memory while training; no adapter was "
             "written. Close other programs, or lower the batch size or the example length.")
        return EXIT_FAILED
    return 0


def run(job: TrainingJob) -> None:
    """Load, probe, train (resuming a checkpoint), export, measure, and publish the adapter."""
    from assistant.engine.gguf_file import validate_model_file
    from assistant.training.architectures import check_trainable, permutes_qk

    started = time.monotonic()
    data = TrainingData.load(job.dataset_path)
    info = validate_model_file(job.base_model)
    check_trainable(info)
    limit = job.memory_limit_bytes or _available_memory()
    weights_bytes = 4 * sum(_product(s) for s in info.tensors.values())
    if weights_bytes * 1.5 > limit:  # float32 weights, plus room for the dequantizing copy
        raise TrainingError(_memory_message(weights_bytes * 1.5, limit))
    import torch  # seconds to import: only once the job can run

    from assistant.training import loop
    loop.set_threads(job.threads)
    device = loop.pick_device()
    emit("loading", model=info.path.name, device=device.type)
    settings = job.settings
    model = loop.add_lora(loop.load_base(info, device), settings)
    optimizer = loop.make_optimizer(model, settings.lr)
    pad = int(info.metadata.get("tokenizer.ggml.eos_token_id") or 0)
    curve: list[list[float]] = []
    step = 0
    if job.checkpoint_path.exists():
        step, curve = _resume(job, model, optimizer)
        emit("resumed", step=step)
    probe = _probe(job, model, data, pad, device, limit)
    emit("probe", **probe, estimated_seconds=round(probe["seconds_per_step"]
                                                   * (settings.steps - step), 1))
    order = loop.batch_order(len(data.train), settings.batch_size, settings.seed)
    for _ in range(step):  # the same batches as an uninterrupted run
        next(order)
    window_tokens, window_start, first_step = 0, time.monotonic(), step
    while step < settings.steps:
        began = time.monotonic()
        batch = loop.collate([data.train[i] for i in next(order)], pad, device)
        loss = loop.train_step(model, optimizer, batch)
        step += 1
        curve.append([step, round(loss, 5)])
        tokens = loop.counted_tokens(batch)
        window_tokens += tokens
        saving = step % settings.checkpoint_every == 0 and step < settings.steps
        if saving:
            _checkpoint(job, model, optimizer, step, curve)
        now = time.monotonic()
        rate = window_tokens / (now - window_start)
        per_step = (now - window_start) / (step - first_step)
        # ``tokens`` and ``seconds`` (checkpoint included) let a benchmark compare single steps.
        emit("step", step=step, steps=settings.steps, loss=round(loss, 5), tokens=tokens,
             seconds=round(now - began, 4), tokens_per_s=round(rate, 1),
             seconds_left=round((settings.steps - step) * per_step, 1))
        if saving:
            emit("checkpoint", step=step)
    _checkpoint(job, model, optimizer, step, curve)
    train_seconds = time.monotonic() - started
    tokens_per_s = window_tokens / (time.monotonic() - window_start) if step > first_step else 0.0
    del optimizer
    emit("exporting")
    from assistant.training.export import export_peft

    staged = job.staging(".gguf")
    export_peft(model, staged, info, alpha=settings.alpha, name=job.name,
                permute_qk=permutes_qk(info.architecture))
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    emit("evaluating", examples=len(data.heldout))
    from assistant.training.evaluate import heldout_losses

    before, after = heldout_losses(job.base_model, staged, data.heldout, threads=job.threads)
    card = _card(job, data, info.architecture, curve, before, after, train_seconds,
                 tokens_per_s, device.type)
    from assistant.training.card import card_path, write_card

    write_card(job.staging(".card.json"), card)
    # The card lands first: an adapter never appears without it, and a card alone is ignored.
    os.replace(job.staging(".card.json"), card_path(job.target))
    os.replace(staged, job.target)
    emit("done", path=str(job.target), card=card)


def _probe(job: TrainingJob, model: Any, data: TrainingData, pad: int, device: Any,
           limit: int) -> dict[str, Any]:
    """Time forward and backward passes on the longest examples, and the memory they take."""
    import torch

    from assistant.training import loop

    probe_began = time.monotonic()
    longest = sorted(data.train, key=lambda e: -len(e.input_ids))[:job.settings.batch_size]
    batch = loop.collate(longest, pad, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(max(1, job.probe_steps)):
        begin = time.monotonic()
        model(**batch).loss.backward()
        times.append(time.monotonic() - begin)
    model.zero_grad(set_to_none=True)
    peak = int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" \
        else peak_rss_bytes()
    # The optimizer keeps two moments per trained value; training has grown no further.
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    needed = peak + trained * 4 * 3
    if needed > limit:
        raise TrainingError(_memory_message(needed, limit))
    # The first pass pays one-time costs: the estimate takes the fastest one.
    # ``seconds``: the probe's own time, which a benchmark tells apart from the model's load.
    return {"seconds_per_step": round(min(times), 3), "memory_bytes": needed,
            "memory_limit_bytes": limit, "seconds": round(time.monotonic() - probe_began, 3)}


def _checkpoint(job: TrainingJob, model: Any, optimizer: Any, step: int,
                curve: list[list[float]]) -> None:
    """Save what a resume needs, atomically (a kill mid-write keeps the previous checkpoint)."""
    import torch
    from peft import get_peft_model_state_dict

    temporary = job.checkpoint_path.with_suffix(".tmp")
    lora = get_peft_model_state_dict(model, save_embedding_layers=False)
    torch.save({"fingerprint": job.fingerprint(), "step": step, "curve": curve, "lora": lora,
                "optimizer": optimizer.state_dict()}, temporary)
    os.replace(temporary, job.checkpoint_path)


def _resume(job: TrainingJob, model: Any, optimizer: Any) -> tuple[int, list[list[float]]]:
    import torch
    from peft import set_peft_model_state_dict

    state = torch.load(job.checkpoint_path, weights_only=False)
    if state.get("fingerprint") != job.fingerprint():
        return 0, []
    set_peft_model_state_dict(model, state["lora"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["step"]), list(state["curve"])


def _card(job: TrainingJob, data: TrainingData, architecture: str, curve: list[list[float]],
          before: float, after: float, seconds: float, tokens_per_s: float,
          device: str) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "name": job.name,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "base_model": {"file": job.base_model.name, "sha256": job.base_sha256,
                       "architecture": architecture},
        "data": {"kind": data.kind, "sources": [asdict(s) for s in data.sources],
                 "counts": data.counts(), "system_prompt": data.system_prompt,
                 "heldout": [e.origin for e in data.heldout], "notes": data.notes},
        "settings": asdict(job.settings),
        "device": device,
        "loss_curve": curve,
        "heldout_loss_before": round(before, 5),
        "heldout_loss_after": round(after, 5),
        "heldout_measured_by": "llama.cpp",
        "training_seconds": round(seconds, 1),
        "tokens_per_s": round(tokens_per_s, 1),
    }


def _available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available) + int(psutil.Process().memory_info().rss)


def _memory_message(needed: float, limit: int) -> str:
    return (f"Training this model needs about {needed / 2**30:.1f} GiB of memory, but only "
            f"{limit / 2**30:.1f} GiB is free. Close other programs, or train a smaller model; "
            "nothing was trained.")


def _product(shape: tuple[int, ...]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
