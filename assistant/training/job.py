"""A training job: its settings and folder, and the worker process that runs it.

The app and the CLI never train in their own process: :class:`TrainingRun` starts
``python -m assistant.training.worker JOB_DIR`` and reads its progress, one JSON object per line
on stdout. Cancelling terminates the worker; it keeps its last checkpoint, and starting the same
job again (same data, settings and base model) resumes from it. The adapter reaches the adapters
folder only when finished, by renaming a hidden staging file, so a cancelled, killed or failed
run never leaves a half-written adapter there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import TrainingError
from assistant.training.data import TrainingData

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class LoraSettings:
    """The adapter's shape and how it is trained; defaults suit tens to hundreds of examples."""

    rank: int = 8
    alpha: int = 16  # PEFT's lora_alpha; llama.cpp scales by alpha / rank too
    steps: int = 100
    lr: float = 1e-3
    batch_size: int = 4
    max_tokens: int = 256
    seed: int = 0
    targets: tuple[str, ...] = TARGET_MODULES
    checkpoint_every: int = 20

    def __post_init__(self) -> None:
        if self.rank < 1 or self.steps < 1 or self.batch_size < 1 or not self.lr > 0:
            raise TrainingError("Rank, steps and batch size must be at least 1 and the "
                                "learning rate above 0.")


@dataclass
class TrainingJob:
    """Everything the worker needs, written as ``job.json`` in the job's folder."""

    name: str
    base_model: Path
    base_sha256: str
    adapters_dir: Path
    job_dir: Path
    settings: LoraSettings = field(default_factory=LoraSettings)
    threads: int = 0
    memory_limit_bytes: int | None = None  # None: what the machine has free
    probe_steps: int = 2

    @property
    def dataset_path(self) -> Path:
        return self.job_dir / "dataset.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.job_dir / "checkpoint.pt"

    @property
    def target(self) -> Path:
        """Where the finished adapter lands."""
        return self.adapters_dir / f"{self.name}.gguf"

    def staging(self, suffix: str) -> Path:
        """A hidden file beside the target: the adapter catalog skips names starting with '.'."""
        return self.adapters_dir / f".{self.name}.training{suffix}"

    def fingerprint(self) -> str:
        """Same data, settings and base model: a checkpoint of this job can be resumed."""
        digest = hashlib.sha256(self.dataset_path.read_bytes())
        digest.update(json.dumps(asdict(self.settings), sort_keys=True).encode())
        digest.update(self.base_sha256.encode())
        return digest.hexdigest()

    def save(self) -> None:
        """Write ``job.json`` for the worker."""
        data = asdict(self)
        data.update(base_model=str(self.base_model), adapters_dir=str(self.adapters_dir),
                    job_dir=str(self.job_dir), fingerprint=self.fingerprint())
        (self.job_dir / "job.json").write_text(json.dumps(data, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, job_dir: Path) -> TrainingJob:
        """Read ``job.json``."""
        data = json.loads((job_dir / "job.json").read_text(encoding="utf-8"))
        data.pop("fingerprint", None)
        settings = data.pop("settings")
        settings["targets"] = tuple(settings["targets"])
        return cls(**{**data, "base_model": Path(data["base_model"]),
                      "adapters_dir": Path(data["adapters_dir"]),
                      "job_dir": Path(data["job_dir"]), "settings": LoraSettings(**settings)})

    def clean_staging(self) -> None:
        """Remove what an unfinished run left beside the target."""
        for suffix in (".gguf", ".card.json"):
            self.staging(suffix).unlink(missing_ok=True)


def check_name(name: str, adapters_dir: Path) -> None:
    """Refuse a name that is not a plain file name, or an adapter that already exists."""
    if not _NAME.match(name) or name.endswith(".gguf"):
        raise TrainingError(f"'{name}' can't name an adapter: use letters, digits, '-', '_' or "
                            "'.', up to 64 characters, without '.gguf'.")
    if (adapters_dir / f"{name}.gguf").exists():
        raise TrainingError(f"An adapter called '{name}' already exists in {adapters_dir}. "
                            "Choose another name, or delete it first.")


def create_job(name: str, data: TrainingData, base_model: Path, base_sha256: str,
               adapters_dir: Path, jobs_dir: Path, settings: LoraSettings, *,
               threads: int = 0, memory_limit_bytes: int | None = None) -> TrainingJob:
    """Write a job folder with the prepared data; an earlier checkpoint is kept if it matches."""
    check_name(name, adapters_dir)
    adapters_dir.mkdir(parents=True, exist_ok=True)
    job_dir = jobs_dir / name
    job_dir.mkdir(parents=True, exist_ok=True)
    job = TrainingJob(name, Path(base_model).absolute(), base_sha256, adapters_dir.absolute(),
                      job_dir.absolute(), settings, threads, memory_limit_bytes)
    data.save(job.dataset_path)
    previous = job_dir / "job.json"
    if previous.exists():
        try:
            old = json.loads(previous.read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, json.JSONDecodeError):
            old = None
        if old != job.fingerprint():  # other data or settings: the checkpoint is not this job's
            job.checkpoint_path.unlink(missing_ok=True)
    job.save()
    return job


class TrainingRun:
    """The worker process of one job: its progress events, cancel, and clean-up after it."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = job
        self.events: list[dict[str, Any]] = []
        log = (job.job_dir / "worker.log").open("ab")
        try:
            self.process = subprocess.Popen(
                worker_command(job), stdout=subprocess.PIPE, stderr=log, env=worker_env(),
                text=True, bufsize=1)
        finally:
            log.close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Progress events as the worker sends them, until it exits."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = parse_event(line)
            if event is not None:
                self.events.append(event)
                yield event
        self.process.wait()

    def cancel(self) -> None:
        """Stop the worker; it keeps its checkpoint, so the same job can resume."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> dict[str, Any]:
        """Run to the end; return the ``done`` event or raise with the worker's reason."""
        for _event in self:
            pass
        return self.outcome()

    def outcome(self) -> dict[str, Any]:
        """The ``done`` event, or :class:`TrainingError` saying why there is none."""
        return finish(self.job, self.events, self.process.wait())


def worker_command(job: TrainingJob) -> list[str]:
    """The command line of the worker process for ``job``."""
    if getattr(sys, "frozen", False):  # the PyInstaller bundle: its executable is `loremind`
        return [sys.executable, "adapters", "train-worker", str(job.job_dir)]
    return [sys.executable, "-m", "assistant.training.worker", str(job.job_dir)]


def parse_event(line: str) -> dict[str, Any] | None:
    """One progress event from a line of the worker's output (None for anything else)."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:  # a library printing to stdout: not ours
        return None
    return event if isinstance(event, dict) and "event" in event else None


def finish(job: TrainingJob, events: list[dict[str, Any]], exit_code: int) -> dict[str, Any]:
    """After the worker exited: its ``done`` event (the job folder is then removed), or
    :class:`TrainingError` with why, once any staging file it left is removed."""
    done = next((e for e in reversed(events) if e["event"] == "done"), None)
    if done is not None and exit_code == 0:
        remove_job(job)
        return done
    job.clean_staging()
    failure = next((e for e in reversed(events) if e["event"] in ("error", "cancelled")), None)
    if failure is not None:
        raise TrainingError(failure["message"])
    raise TrainingError(
        f"The training process stopped unexpectedly (exit status {exit_code}); no adapter was "
        f"written. Its log is {job.job_dir / 'worker.log'}. Start the same training again to "
        "resume from its last checkpoint.")


def remove_job(job: TrainingJob) -> None:
    """Forget a finished job's checkpoint and data."""
    shutil.rmtree(job.job_dir, ignore_errors=True)


def worker_env() -> dict[str, str]:
    """The worker's environment: this checkout importable, Hugging Face offline and quiet."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_VERBOSITY", "error")
    env.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env
