"""Training benchmark: the app's training loop against a plain PEFT loop, in the same run.

The app's run goes through everything a user's does (data preparation, the worker process with
its probe, progress events and checkpoints, the export, the held-out loss by llama.cpp); its
tokens/s is taken over the training steps. The baseline is the textbook loop (forward, backward,
step) on the same model, data, batches and settings, in a process of its own, timed before and
after the app's run. Both count the same tokens, step by step; the rates compared are each
loop's upper-quartile step rate (see :func:`steady_rate`), the means are reported beside them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.defaults import embedded_chat_model
from assistant.errors import TrainingError
from assistant.paths import AppPaths
from assistant.training.data import TrainingData
from assistant.training.job import LoraSettings, worker_env
from assistant.training.teach import TeachSource, prepare, start

_FACTS = [
    ("What is the capital of Italy?", "Rome is the capital of Italy."),
    ("How many legs does a cat have?", "A cat has four legs."),
    ("What colour are most leaves?", "Most leaves are green."),
    ("What is the boiling point of water?", "Water boils at one hundred degrees Celsius."),
    ("Which star is closest to us?", "The Sun is the star closest to us."),
    ("What do birds use to fly?", "Birds fly with their wings."),
    ("How many days are in a year?", "A year has three hundred and sixty-five days."),
    ("What do we call frozen rain?", "Frozen rain is called hail or sleet."),
    ("What is the colour of the sea?", "The sea often looks blue."),
    ("What do hens lay?", "Hens lay eggs."),
    ("Which planet is red?", "Mars is the red planet."),
    ("What is sand made of?", "Sand is made of tiny grains of rock."),
    ("How many toes do people have?", "People have ten toes."),
    ("What do bears eat?", "Bears eat fish, berries and honey."),
    ("What is the shape of a ball?", "A ball is round."),
    ("What is a library?", "A library is a place full of books to borrow."),
    ("What is the opposite of up?", "The opposite of up is down."),
    ("What do clocks show?", "Clocks show the time."),
    ("What is snow made of?", "Snow is made of ice crystals."),
    ("How many strings does a violin have?", "A violin has four strings."),
]


def write_style_pairs(path: Path) -> Path:
    """Pairs in a recognisable style: a fixed greeting, the fact, a signature line."""
    with path.open("w", encoding="utf-8") as handle:
        for prompt, fact in _FACTS:
            handle.write(json.dumps({"prompt": prompt,
                                     "response": f"Ahoy, friend! {fact}\n— Your Loremind"}) + "\n")
    return path


def run_train_bench(*, steps: int = 12, threads: int = 0, model_path: Path | None = None
                    ) -> dict[str, Any]:
    """Train through the app, with a plain PEFT loop timed before and after it (the machine's
    load drifts: the baseline is their mean); tokens/s of both, and the held-out losses."""
    model_path = model_path or embedded_chat_model()
    settings = LoraSettings(steps=steps, checkpoint_every=max(1, steps // 2))
    with tempfile.TemporaryDirectory(prefix="loremind-bench-train-") as folder:
        root = Path(folder)
        paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
        pairs = write_style_pairs(root / "pairs.jsonl")
        data = prepare(TeachSource("pairs", (pairs,)), model_path, settings)
        data_file = root / "dataset.json"
        data.save(data_file)
        plain_before = plain_peft_steps(model_path, data_file, settings, threads)
        began = time.monotonic()
        run = start("bench", data, model_path, paths, settings, threads=threads)
        done = run.wait()
        app_seconds = time.monotonic() - began
        plain_after = plain_peft_steps(model_path, data_file, settings, threads)
    card = done["card"]
    app_steps = [(e["tokens"], e["seconds"]) for e in run.events if e["event"] == "step"]
    app_rate = steady_rate(app_steps)
    baseline = steady_rate(plain_before + plain_after)
    return {
        "model": model_path.name,
        "steps": steps,
        "train_examples": card["data"]["counts"]["train_examples"],
        "app_tokens_per_s": round(app_rate, 1),
        "plain_peft_tokens_per_s": round(baseline, 1),
        "ratio": round(app_rate / baseline, 3) if baseline else 0.0,
        "app_mean_tokens_per_s": round(mean_rate(app_steps), 1),
        "plain_peft_mean_tokens_per_s_before_after": [round(mean_rate(plain_before), 1),
                                                      round(mean_rate(plain_after), 1)],
        "heldout_loss_before": card["heldout_loss_before"],
        "heldout_loss_after": card["heldout_loss_after"],
        "app_total_seconds": round(app_seconds, 1),
    }


def steady_rate(steps: list[tuple[int, float]]) -> float:
    """Tokens/s of the steps at the upper quartile of speed: on a machine that other work
    keeps busy, the faster steps are the ones least slowed by it, for both loops alike."""
    rates = sorted(tokens / seconds for tokens, seconds in steps if seconds > 0)
    return rates[(3 * (len(rates) - 1)) // 4] if rates else 0.0


def mean_rate(steps: list[tuple[int, float]]) -> float:
    """All tokens over all time."""
    seconds = sum(s for _, s in steps)
    return sum(t for t, _ in steps) / seconds if seconds else 0.0


def plain_peft_steps(model_path: Path, data_file: Path, settings: LoraSettings,
                     threads: int = 0) -> list[tuple[int, float]]:
    """(tokens, seconds) per step of :class:`PlainPeftLoop` in a fresh process, as the app's
    worker runs in one (torch in a process that already ran llama.cpp is no fair baseline)."""
    command = [sys.executable, "-m", "assistant.bench.train", str(model_path), str(data_file),
               json.dumps(asdict(settings)), str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, env=worker_env(),
                          check=False)
    if done.returncode:
        raise TrainingError(f"The plain PEFT loop failed: {done.stderr.strip()[-500:]}")
    return [(int(t), float(s)) for t, s in json.loads(done.stdout.strip().splitlines()[-1])]


class PlainPeftLoop:
    """The textbook loop: forward, backward, AdamW step with PEFT, and nothing else."""

    def __init__(self, model_path: Path, settings: LoraSettings, threads: int = 0) -> None:
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM

        if threads > 0:
            torch.set_num_threads(threads)
        warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
        self.settings = settings
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model: Any = AutoModelForCausalLM.from_pretrained(
            str(model_path.parent), gguf_file=model_path.name, dtype=torch.float32)
        torch.manual_seed(settings.seed)
        self.model: Any = get_peft_model(model, LoraConfig(
            r=settings.rank, lora_alpha=settings.alpha, target_modules=list(settings.targets),
            lora_dropout=0.0, task_type="CAUSAL_LM"))
        self.model.to(self.device)

    def steps(self, data: TrainingData) -> list[tuple[int, float]]:
        """(tokens, seconds) of each of ``settings.steps`` steps, on the app's batches."""
        import torch

        from assistant.training.loop import batch_order, collate

        settings = self.settings
        optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad],
                                      lr=settings.lr, weight_decay=0.0)
        order = batch_order(len(data.train), settings.batch_size, settings.seed)
        # One untimed pass first, as the app's probe warms its loop before it is timed.
        warm = collate([data.train[i] for i in range(min(len(data.train), settings.batch_size))],
                       0, self.device)
        self.model(**warm).loss.backward()
        self.model.zero_grad(set_to_none=True)
        timed: list[tuple[int, float]] = []
        for _ in range(settings.steps):
            began = time.monotonic()
            batch = collate([data.train[i] for i in next(order)], 0, self.device)
            self.model(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            timed.append((int(batch["attention_mask"].sum()), time.monotonic() - began))
        return timed


if __name__ == "__main__":  # the baseline's own process: MODEL DATASET SETTINGS_JSON THREADS
    _model, _data, _settings, _threads = sys.argv[1:5]
    _fields = json.loads(_settings)
    _loop = PlainPeftLoop(Path(_model), LoraSettings(**{**_fields,
                                                       "targets": tuple(_fields["targets"])}),
                          int(_threads))
    print(json.dumps(_loop.steps(TrainingData.load(Path(_data)))))
