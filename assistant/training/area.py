"""The core's Teach area: what a front end calls to train an adapter and read its card.

Wired on the core as ``core.teach``. A front end prepares the data (a preview comes back),
creates the job, runs ``worker_command(job)`` as a process in its own way (the CLI with
:class:`TrainingRun`, the GUI with a QProcess), reads its JSON lines with :func:`parse_event`,
and hands the events and exit status to :meth:`TeachArea.finish`, which announces the new adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.changes import Area, Change
from assistant.errors import TrainingError
from assistant.training.card import delete_adapter, read_card
from assistant.training.chat_examples import ChatExamples
from assistant.training.data import TrainingData
from assistant.training.job import (
    LoraSettings,
    TrainingJob,
    check_name,
    create_job,
    finish,
    parse_event,
    worker_command,
    worker_env,
)
from assistant.training.teach import TeachSource, file_sha256, jobs_dir, prepare

if TYPE_CHECKING:
    from assistant.core.app import Loremind

__all__ = ["LoraSettings", "TeachArea", "TeachSource", "TrainingData", "TrainingJob",
           "parse_event", "worker_command", "worker_env"]


class TeachArea:
    """Train adapters on the model in use from data the user chose; cards; marked examples."""

    def __init__(self, core: Loremind) -> None:
        self._core = core

    def model_file(self) -> Path:
        """The GGUF file adapters are trained for: the local model loaded, else the configured
        one (a model on a server cannot be trained here: its file is not on this machine)."""
        from assistant.engine.model import LocalModel

        loaded = self._core.parts.loaded_model
        if isinstance(loaded, LocalModel):
            return loaded.path
        if loaded is not None:
            raise TrainingError(f"The model in use runs on {loaded.engine_label}; adapters "
                                "are trained for a local GGUF model. Switch to one first.")
        return self._core.models.model_file()

    def prepare(self, source: TeachSource, settings: LoraSettings) -> TrainingData:
        """Read and tokenize the chosen data (raises TrainingError saying what to fix)."""
        return prepare(source, self.model_file(), settings,
                       system_prompt=self._core.current_settings.generation.system_prompt,
                       paths=self._core.paths,
                       conversations=lambda: self._core.parts.conversations)

    def create_job(self, name: str, data: TrainingData, settings: LoraSettings, *,
                   memory_limit_bytes: int | None = None) -> TrainingJob:
        """Write the job folder (resuming a matching checkpoint); run ``worker_command(job)``."""
        model = self.model_file()
        paths = self._core.paths
        check_name(name, paths.adapters_dir)
        return create_job(name, data, model, file_sha256(model), paths.adapters_dir,
                          jobs_dir(paths), settings,
                          threads=self._core.current_settings.model.threads,
                          memory_limit_bytes=memory_limit_bytes)

    def finish(self, job: TrainingJob, events: list[dict[str, Any]],
               exit_code: int) -> dict[str, Any]:
        """The finished run's ``done`` event, announced as a new adapter; or TrainingError."""
        done = finish(job, events, exit_code)
        self._core.changes.publish(Change(Area.ADAPTERS, "trained", (job.name,)))
        return done

    def card(self, adapter: Path) -> dict[str, Any] | None:
        """The card of an adapter file, or None when it was not trained here."""
        return read_card(adapter)

    def delete(self, adapter: Path) -> Change:
        """Delete an adapter and its card, and announce it."""
        delete_adapter(adapter)
        return self._core.changes.publish(Change(Area.ADAPTERS, "deleted", (adapter.stem,)))

    @property
    def examples(self) -> ChatExamples:
        """Chat answers the user marked (or rewrote) as examples to train on."""
        return ChatExamples.in_data_dir(self._core.paths.data_dir)
