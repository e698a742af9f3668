"""``loremind bench train``: the whole Teach run as a user waits for it, against a plain PEFT
script doing the same work, in the same run.

The app's run goes through the core's Teach area (``core.teach.start``: the job written by
``create_job`` and the worker process the GUI runs in a QProcess; then ``core.teach.finish``):
job written, worker started, model loaded, probe, training with its checkpoints, export to
GGUF, held-out loss by llama.cpp, card written and the adapter announced. The baseline
(:mod:`assistant.bench.train_baseline`) is what a competent user would write with transformers
and PEFT, in a fresh process: load, LoRA, the same steps on the same examples,
``save_pretrained``, conversion to GGUF, held-out loss in PyTorch. It runs once before and once
after the app's run (the machine's load drifts; the figures are their mean). Each phase is
timed from outside, from the moment its line arrives; both totals run from the Start click (or
the script's launch) to the last thing done. Reading and tokenizing the data (the dialog's
preview, before Start) is timed apart: the baseline reads the token ids it made.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from assistant.config import ModelSettings, Settings
from assistant.core import (
    LoraSettings,
    Loremind,
    TeachSource,
    TrainingData,
    parse_event,
    worker_env,
)
from assistant.defaults import embedded_chat_model
from assistant.errors import TrainingError
from assistant.paths import AppPaths

PHASES = ("start", "load", "probe", "train", "export", "evaluate", "finish")
# The line that ends each phase: the app's worker events, and the baseline's.
_APP_ENDS = {"start": "loading", "train": "exporting", "export": "evaluating",
             "evaluate": "done"}
_PLAIN_ENDS = {"start": "loading", "load": "loaded", "train": "trained", "export": "exported",
               "evaluate": "evaluated"}

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
    """Teach through the core, with the plain PEFT script run before and after it: both
    totals, each phase's seconds for both, the ratio, and the losses each measured."""
    model_path = model_path or embedded_chat_model()
    settings = LoraSettings(steps=steps, checkpoint_every=max(1, steps // 2))
    with tempfile.TemporaryDirectory(prefix="loremind-bench-train-") as folder:
        root = Path(folder)
        paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
        core = Loremind.open(paths, Settings(model=ModelSettings(threads=threads)))
        try:
            source = TeachSource("pairs", (write_style_pairs(root / "pairs.jsonl"),))
            began = time.monotonic()
            data = core.teach.prepare(source, settings, model=model_path)
            prepare_s = time.monotonic() - began
            data_file = root / "dataset.json"
            data.save(data_file)
            plain_before = plain_peft_run(model_path, data_file, settings, root / "before", threads)
            app = app_run(core, data, settings, model_path)
            plain_after = plain_peft_run(model_path, data_file, settings, root / "after", threads)
        finally:
            core.close()
    plain_phases = {phase: statistics.mean([plain_before["phases"][phase],
                                            plain_after["phases"][phase]]) for phase in PHASES}
    plain_total = statistics.mean([plain_before["total_s"], plain_after["total_s"]])
    plain_cpu = statistics.mean([plain_before["cpu_s"], plain_after["cpu_s"]])
    card = app["card"]
    return {
        "model": model_path.name,
        "steps": steps,
        "train_examples": card["data"]["counts"]["train_examples"],
        "heldout_examples": card["data"]["counts"]["heldout_examples"],
        "device": card["device"],
        "app_total_s": round(app["total_s"], 1),
        "plain_peft_total_s": round(plain_total, 1),
        "ratio": round(app["total_s"] / plain_total, 2),
        "app_phases_s": _rounded(app["phases"]),
        "plain_peft_phases_s": _rounded(plain_phases),
        "plain_peft_totals_s_before_after": [round(plain_before["total_s"], 1),
                                             round(plain_after["total_s"], 1)],
        "app_cpu_s": round(app["cpu_s"], 1),
        "plain_peft_cpu_s": round(plain_cpu, 1),
        "cpu_ratio": round(app["cpu_s"] / plain_cpu, 2) if plain_cpu else None,
        "app_prepare_s": round(prepare_s, 2),
        "app_train_loss_first_last": [card["loss_curve"][0][1], card["loss_curve"][-1][1]],
        "plain_peft_train_loss_first_last": plain_after["train_loss_first_last"],
        "app_heldout_loss_before_after_llama_cpp": [card["heldout_loss_before"],
                                                    card["heldout_loss_after"]],
        "plain_peft_heldout_loss_before_after_torch": plain_after["heldout_loss_before_after"],
    }


def app_run(core: Loremind, data: TrainingData, settings: LoraSettings, model_path: Path
            ) -> dict[str, Any]:
    """Start → card written and announced, through the core's Teach area as the GUI goes
    (the GUI reads the same worker in a QProcess); seconds of each phase, CPU seconds."""
    cpu = _children_cpu_s()
    began = time.monotonic()
    run = core.teach.start("bench", data, settings, model=model_path)
    arrived: dict[str, float] = {}
    for event in run:
        arrived.setdefault(event["event"], time.monotonic() - began)
    done = core.teach.finish(run.job, run.events, run.process.wait())
    total = time.monotonic() - began
    probe = next(e for e in run.events if e["event"] == "probe")
    ends = {phase: arrived[event] for phase, event in _APP_ENDS.items()}
    # The probe's line ends the load and the probe together; the probe says its own time.
    ends["probe"] = arrived["probe"]
    ends["load"] = arrived["probe"] - probe["seconds"]
    ends["finish"] = total
    return {"phases": _durations(ends), "total_s": total, "cpu_s": _children_cpu_s() - cpu,
            "card": done["card"]}


def plain_peft_run(model_path: Path, data_file: Path, settings: LoraSettings, out_dir: Path,
                   threads: int = 0) -> dict[str, Any]:
    """The baseline script in a fresh process (torch in a process that already ran llama.cpp
    is no fair baseline), timed from its launch to its exit, phase by phase."""
    out_dir.mkdir()
    job = json.dumps({"model": str(model_path), "dataset": str(data_file),
                      "settings": asdict(settings), "out_dir": str(out_dir),
                      "threads": threads})
    log = out_dir / "stderr.log"  # a file, as the worker's: a full pipe would stall it
    cpu = _children_cpu_s()
    began = time.monotonic()
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.bench.train_baseline", job],
            stdout=subprocess.PIPE, stderr=errors, text=True, env=worker_env())
    assert process.stdout is not None
    arrived: dict[str, float] = {}
    lines: dict[str, dict[str, Any]] = {}
    for line in process.stdout:
        if (event := parse_event(line)) is not None:
            arrived[event["event"]] = time.monotonic() - began
            lines[event["event"]] = event
    process.wait()
    total = time.monotonic() - began
    if process.returncode or set(_PLAIN_ENDS.values()) - set(arrived):
        raise TrainingError("The plain PEFT script failed: "
                            f"{log.read_text(errors='replace').strip()[-500:]}")
    ends = {phase: arrived[event] for phase, event in _PLAIN_ENDS.items()}
    ends["probe"] = ends["load"]  # it has none
    ends["finish"] = total
    evaluated, trained = lines["evaluated"], lines["trained"]
    return {"phases": _durations(ends), "total_s": total, "cpu_s": _children_cpu_s() - cpu,
            "train_loss_first_last": [trained["first_loss"], trained["last_loss"]],
            "heldout_loss_before_after": [evaluated["heldout_loss_before"],
                                          evaluated["heldout_loss_after"]]}


def _durations(ends: dict[str, float]) -> dict[str, float]:
    """Seconds of each phase from the moments the phases end."""
    durations, previous = {}, 0.0
    for phase in PHASES:
        durations[phase] = ends[phase] - previous
        previous = ends[phase]
    return durations


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 2) for key, value in values.items()}


def _children_cpu_s() -> float:
    """CPU seconds (user + system) of this process's children that have ended, where the
    system tells (not Windows): unlike wall time, it does not grow when other work holds the
    cores."""
    times = psutil.Process().cpu_times()
    return float(times.children_user + times.children_system)
