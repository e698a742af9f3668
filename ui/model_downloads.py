"""The GUI's access to the model manager: downloads on the ``download`` lane, and switching models.

Both the Models page and the first-run screen show the same downloads, so they live here, one
set per app. :func:`model_manager` is the one place the GUI gets its ModelManager from; when the
core owns one (``core.models``), only this accessor changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core import DownloadProgress as Progress
from assistant.core import InstalledModel, ModelManager
from ui.errors import show_error
from ui.qt import QMessageBox, QObject, QWidget, Signal
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from ui.app import LoremindApp


def model_manager(app: LoremindApp) -> ModelManager:
    """The app's model manager; it reads the settings in force and saves through the app, so a
    new model loads in the background and every view hears of it."""
    return app.core.models.manager


def model_downloads(app: LoremindApp) -> ModelDownloads:
    """The app's downloads (created on first use)."""
    downloads: ModelDownloads | None = getattr(app, "_model_downloads", None)
    if downloads is None:
        downloads = ModelDownloads(app)
        app._model_downloads = downloads  # type: ignore[attr-defined]
    return downloads


def use_model(app: LoremindApp, name_or_path: str | Path,
              done: Any = None) -> None:
    """Make a model the one in use: the file is checked on the db lane, the settings saved
    there too, and the model loads on the model lane; the window never waits."""
    manager = model_manager(app)

    def chosen(path: Path) -> None:
        app.update_settings(manager.settings_using(path))
        if done is not None:
            done(path)

    BackgroundOp(None, lambda: manager.resolve(str(name_or_path)), chosen).run(app.tasks, "db")


def use_embedded(app: LoremindApp) -> None:
    """Go back to the built-in demo model: the settings are saved on the db lane, through the
    core, so the model reloads and every view hears of it."""
    BackgroundOp(None, model_manager(app).use_embedded).run(app.tasks, "db")


def import_model(app: LoremindApp, parent: QWidget | None, path: Path,
                 done: Callable[[InstalledModel], None]) -> None:
    """Import the GGUF file ``path`` (checked on the db lane) and hand it to ``done``. A file
    without a chat template is probably a base model that answers badly: the user is told so
    first, and it is imported only if they still want it."""
    manager = model_manager(app)
    models = app.core.models

    def checked(note: str) -> None:
        if note and QMessageBox.question(
                parent, "No chat template", f"{note}\n\nUse it anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
            return
        BackgroundOp(parent, lambda: manager.import_file(path), done).run(app.tasks, "db")

    BackgroundOp(parent, lambda: models.template_note(path), checked).run(app.tasks, "db")


class ModelDownloads(QObject):
    """Downloads the app runs, one after another on the ``download`` lane."""

    progressed = Signal(str, object)  # catalogue name, Progress
    finished = Signal(str, object)  # catalogue name, InstalledModel (None when cancelled)
    failed = Signal(str, object)  # catalogue name, the exception

    def __init__(self, app: LoremindApp) -> None:
        super().__init__()
        self.app = app
        self.latest: dict[str, Progress] = {}
        self._stops: dict[str, threading.Event] = {}
        self._use_after: set[str] = set()

    def is_active(self, name: str) -> bool:
        """Whether ``name`` is downloading or waiting its turn."""
        return name in self._stops

    def start(self, name: str, use_when_done: bool = False) -> None:
        """Download ``name`` in the background (a no-op while it already is)."""
        if use_when_done:
            self._use_after.add(name)
        if name in self._stops:
            return
        manager = model_manager(self.app)
        tasks = self.app.tasks
        stop = self._stops[name] = threading.Event()
        tasks.track(stop)  # quitting the app stops the worker; the part stays for a resume

        def report(progress: Progress) -> None:
            tasks.post(lambda: self._progressed(name, progress))

        def ended(future: Future[InstalledModel | None]) -> None:
            tasks.untrack(stop)
            self._stops.pop(name, None)
            self.latest.pop(name, None)
            error = future.exception()
            if error is not None:
                self._use_after.discard(name)
                self.failed.emit(name, error)
                show_error(None, error)
                return
            installed = future.result()
            self.finished.emit(name, installed)
            if installed is not None and name in self._use_after:
                use_model(self.app, installed.path)
            self._use_after.discard(name)

        def work() -> InstalledModel | None:
            if stop.is_set():  # cancelled while waiting its turn
                return None
            return manager.pull(name, report, cancel=stop)

        tasks.run("download", work, ended)

    def cancel(self, name: str) -> None:
        """Stop ``name``'s download; what arrived is kept and the next start resumes it."""
        self._use_after.discard(name)
        stop = self._stops.get(name)
        if stop is not None:
            stop.set()

    def _progressed(self, name: str, progress: Progress) -> None:
        self.latest[name] = progress
        self.progressed.emit(name, progress)
