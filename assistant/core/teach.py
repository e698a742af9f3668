"""The core's Teach area: what a front end calls to train an adapter and read its card.

Wired on the core as ``core.teach``. A front end prepares the data (a preview comes back),
creates the job and runs it: the CLI with :meth:`TeachArea.start` (a :class:`TrainingRun` it
iterates), the GUI with ``worker_command(job)`` in a QProcess, reading its JSON lines with
:func:`parse_event` and handing the events and exit status to :meth:`TeachArea.finish`, which
announces the new adapter. Cards, deletion and the answers marked as examples are here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.changes import Area, Change
from assistant.errors import TrainingError
from assistant.training.card import read_card
from assistant.training.chat_examples import ChatExamples
from assistant.training.data import TrainingData
from assistant.training.job import (
    LoraSettings,
    TrainingJob,
    TrainingRun,
    check_name,
    create_job,
    finish,
    parse_event,
    worker_command,
    worker_env,
)
from assistant.training.teach import TeachSource, file_sha256, jobs_dir, prepare

if TYPE_CHECKING:
    from assistant.chat.conversations import ChatMessage, ChatSession
    from assistant.core.app import Loremind

__all__ = ["LoraSettings", "TeachArea", "TeachSource", "TrainingData", "TrainingJob",
           "TrainingRun", "parse_event", "run_training_worker", "worker_command", "worker_env"]


class TeachArea:
    """Train adapters on the model in use from data the user chose; cards; marked examples."""

    def __init__(self, core: Loremind) -> None:
        self._core = core

    def model_file(self, path: Path | None = None) -> Path:
        """The GGUF file adapters are trained for: ``path`` when given, else the local model
        loaded, else the configured one (a model on a server cannot be trained here: its file
        is not on this machine)."""
        from assistant.engine.model import LocalModel

        if path is not None:
            return self._core.models.model_file(path)
        loaded = self._core.parts.loaded_model
        if isinstance(loaded, LocalModel):
            return loaded.path
        if loaded is not None:
            raise TrainingError(f"The model in use runs on {loaded.engine_label}; adapters "
                                "are trained for a local GGUF model. Switch to one first.")
        return self._core.models.model_file()

    def prepare(self, source: TeachSource, settings: LoraSettings,
                model: Path | None = None) -> TrainingData:
        """Read and tokenize the chosen data (raises TrainingError saying what to fix)."""
        return prepare(source, self.model_file(model), settings,
                       system_prompt=self._core.current_settings.generation.system_prompt,
                       paths=self._core.paths,
                       conversations=lambda: self._core.parts.conversations)

    def create_job(self, name: str, data: TrainingData, settings: LoraSettings, *,
                   model: Path | None = None,
                   memory_limit_bytes: int | None = None) -> TrainingJob:
        """Write the job folder (resuming a matching checkpoint); run ``worker_command(job)``."""
        model = self.model_file(model)
        paths = self._core.paths
        check_name(name, paths.adapters_dir)
        return create_job(name, data, model, file_sha256(model), paths.adapters_dir,
                          jobs_dir(paths), settings,
                          threads=self._core.current_settings.model.threads,
                          memory_limit_bytes=memory_limit_bytes)

    def start(self, name: str, data: TrainingData, settings: LoraSettings, *,
              model: Path | None = None) -> TrainingRun:
        """Write the job and start its worker process: iterate the run for its events, then
        read :meth:`TrainingRun.outcome` (the command line's way; the GUI runs the worker in
        a QProcess with :meth:`create_job`)."""
        return TrainingRun(self.create_job(name, data, settings, model=model))

    def announce_trained(self, name: str) -> Change:
        """Say a new adapter was written (a run the caller drove to its end)."""
        return self._core.changes.publish(Change(Area.ADAPTERS, "trained", (name,)))

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
        """Delete an adapter and its card, out of every chat's set too (see
        :meth:`AdaptersArea.delete`), and announce it."""
        return self._core.adapters.delete(adapter)

    def card_of(self, name: str) -> tuple[Path, dict[str, Any]]:
        """The adapter called ``name`` (or a unique prefix) and its card; TrainingError when
        it has none (it was not trained in Loremind)."""
        info = self._core.adapters.find(name)
        data = read_card(info.path)
        if data is None:
            raise TrainingError(f"{info.path.name} has no card: it was not trained in "
                                "Loremind, so there is no record of what it learned from.")
        return info.path, data

    def mark_example(self, session_id: str, message_id: str | None = None,
                     rewrite: str = "") -> tuple[ChatSession, ChatMessage]:
        """Mark a chat's answer (the last one, or ``message_id``) or the user's rewrite of it
        as an example to train on; returns the chat and the answer."""
        chat, answer = self._answer(session_id, message_id)
        self.examples.mark(chat.id, answer.id, rewrite)
        return chat, answer

    def unmark_example(self, session_id: str, message_id: str | None = None) -> bool:
        """Stop using a chat's answer as an example; whether it was one."""
        _chat, answer = self._answer(session_id, message_id)
        return self.examples.unmark(answer.id)

    def _answer(self, session_id: str, message_id: str | None) -> tuple[ChatSession,
                                                                         ChatMessage]:
        chat = self._core.chat.get(session_id)
        answers = [m for m in chat.messages if m.role == "assistant"
                   and (message_id is None or m.id.startswith(message_id))]
        if not answers:
            raise TrainingError(f"The chat {chat.id} has no answer"
                                + (f" with the id {message_id}." if message_id else " yet."))
        return chat, answers[-1]

    @property
    def examples(self) -> ChatExamples:
        """Chat answers the user marked (or rewrote) as examples to train on."""
        return ChatExamples.in_data_dir(self._core.paths.data_dir)


def run_training_worker(job_dir: Path) -> int:
    """Be the training process for ``job_dir`` (the bundle's hidden command); its exit status."""
    from assistant.training.worker import main

    return main([str(job_dir)])
