"""The running GUI: the application object that holds the Assistant, and ``run_gui``.

Start-up shows the window first and loads the heavy parts (llama.cpp, LanceDB, the embedder)
afterwards on worker lanes, in parallel: nothing heavier than Qt and the settings is imported
before the window is on screen.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings, load_settings, save_settings
from assistant.defaults import force_offline
from assistant.errors import InstanceError, LoremindError
from assistant.instance import Request, socket_path
from assistant.logs import setup_logging
from assistant.paths import AppPaths, app_paths
from ui.errors import install_excepthook, show_error
from ui.qt import QApplication, QObject, QTimer, Signal
from ui.tasks import TaskManager

if TYPE_CHECKING:
    from assistant.chat.assistant import Assistant
    from assistant.knowledge.watcher import FolderWatcher
    from ui.instance_server import InstanceServer

log = logging.getLogger(__name__)
STARTUP_REPORT_ENV = "LOREMIND_STARTUP_REPORT"  # set by `loremind bench startup`


class LoremindApp(QObject):
    """What one running GUI shares: settings, folders, worker lanes and the Assistant."""

    status = Signal(str, bool)  # message for the status bar, whether work is in progress
    ready = Signal()  # the assistant can answer (model, embedder and database loaded)
    settings_changed = Signal()
    knowledge_changed = Signal()  # the index changed (a sync, a folder added or removed)
    indexing_progress = Signal(str)  # what indexing is doing now; "" when it is done

    def __init__(self, settings: Settings, paths: AppPaths,
                 assistant: Assistant | None = None, watch_folders: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self.paths = paths
        self.tasks = TaskManager()
        self.assistant: Assistant | None = assistant
        self.watch_folders = watch_folders
        self.watching_paused = False
        self.watcher: FolderWatcher | None = None
        self._loaded: dict[str, Any] = {}

    @property
    def is_ready(self) -> bool:
        return self.assistant is not None

    def start(self) -> None:
        """Load the model on the model lane while the database and embedder load on the db lane."""
        if self.assistant is not None:
            QTimer.singleShot(0, self._became_ready)
            return
        self.status.emit("Loading the model and the embedder…", True)
        self.tasks.run("model", self._load_model, lambda f: self._part_loaded("model", f))
        self.tasks.run("db", self._load_store, lambda f: self._part_loaded("store", f))

    def _load_model(self) -> Any:
        from assistant.engine.model import LocalModel

        return LocalModel.from_settings(self.settings.model, seed=self.settings.generation.seed)

    def _load_store(self) -> Any:
        from assistant.chat import assistant  # noqa: F401  (imported here, off the main thread)
        from assistant.knowledge.embedder import Embedder
        from assistant.store import Store

        return Store.open(self.paths.database_dir), Embedder()

    def _part_loaded(self, part: str, future: Future[Any]) -> None:
        error = future.exception()
        if error is not None:
            show_error(None, error)
            self._loaded[part] = None
        else:
            self._loaded[part] = future.result()
        if len(self._loaded) < 2:
            return
        stored = self._loaded["store"]
        if stored is None:
            self.status.emit("Loremind could not open its database.", False)
            return
        from assistant.chat.assistant import Assistant

        store, embedder = stored
        self.assistant = Assistant(self.settings, self.paths, model=self._loaded["model"],
                                   embedder=embedder, store=store)
        self._became_ready()

    def _became_ready(self) -> None:
        model_ok = self.assistant is not None and self.assistant._model is not None
        self.status.emit("Ready" if model_ok else
                         "The model did not load: choose another in Settings (Ctrl+,).", False)
        self.restart_watcher()
        self.ready.emit()

    # -- settings ------------------------------------------------------------------------------

    def update_settings(self, settings: Settings) -> None:
        """Save ``settings``; reload the model in the background when its settings changed."""
        model_changed = settings.model != self.settings.model
        self.settings = settings
        save_settings(settings, self.paths.config_file)
        if self.assistant is not None:
            self.assistant.settings = settings
            if model_changed:
                self.reload_model()
        self.settings_changed.emit()

    def reload_model(self) -> None:
        """Load the model the settings name and swap it in once it is ready."""
        assistant = self.assistant
        if assistant is None:
            return
        self.status.emit("Loading the model…", True)

        def swapped(future: Future[Any]) -> None:
            error = future.exception()
            if error is not None:
                self.status.emit("The model did not load: the old one stays.", False)
                show_error(None, error)
                return
            self.status.emit("Ready", False)
            self.settings_changed.emit()

        def load() -> None:
            assistant.replace_model(self._load_model())

        self.tasks.run("model", load, swapped)

    # -- watched folders -----------------------------------------------------------------------

    def pause_watching(self, paused: bool) -> None:
        """Stop following the watched folders, or follow them again (catching up at once)."""
        self.watching_paused = paused
        self.restart_watcher()

    def restart_watcher(self) -> None:
        """Follow the watched folders of the settings (on the index lane: stopping may wait)."""
        assistant = self.assistant
        if not self.watch_folders or assistant is None:
            return
        folders = [Path(f) for f in self.settings.knowledge.folders
                   if os.path.isdir(f) and not self.watching_paused]
        knowledge = self.settings.knowledge

        def restart() -> None:
            from assistant.knowledge import FolderWatcher, Indexer

            old, self.watcher = self.watcher, None
            if old is not None:
                old.stop()
            if not folders:
                return
            indexer = Indexer(assistant.store, assistant.embedder, knowledge)
            self.watcher = FolderWatcher(
                indexer, folders,
                on_sync=lambda _folder, _report: self.tasks.post(self.knowledge_changed.emit),
                on_error=lambda exc: self.tasks.post(lambda: show_error(None, exc)))
            self.watcher.start()

        self.tasks.run("index", restart)

    def shutdown(self) -> None:
        """Stop answers and indexing, wait for the workers, free the model."""
        self.tasks.shutdown()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.assistant is not None:
            self.assistant.close()


def run_gui(argv: list[str] | None = None, *, minimized: bool = False,
            popup: bool = False, question: str = "") -> int:
    """Open the main window (or only the tray with ``minimized``, and quick ask with ``popup``)
    and run until quit; returns the exit status. When Loremind already runs, hand it the
    request instead and return 0."""
    started = time.perf_counter()
    force_offline()
    paths = app_paths().ensure()
    setup_logging(paths)
    qt_app = QApplication.instance() or QApplication(argv or sys.argv)
    qt_app.setApplicationName("Loremind")
    qt_app.setOrganizationName("Loremind")
    install_excepthook()
    request = (Request("popup", question) if popup else None if minimized
               else Request("show"))  # started minimized (at log-in) while running: nothing to do
    server, server_problem = _single_instance(paths, request)
    if server is None and server_problem is None:
        return 0  # the running instance took over
    from ui.main_window import MainWindow
    from ui.shell import DesktopShell
    from ui.theme import apply_theme, logo

    try:
        settings = load_settings(paths.config_file)
        problem: LoremindError | None = None
    except LoremindError as exc:
        settings, problem = Settings(), exc
    apply_theme(qt_app, settings.ui.appearance)
    qt_app.setWindowIcon(logo())
    app = LoremindApp(settings, paths)
    window = MainWindow(app)
    shell = DesktopShell(app, window)
    shell.start(minimized=minimized)
    if popup:
        shell.show_popup(question)
    for error in (problem, server_problem):
        if error is not None:
            show_error(window, error)
    if server is not None:
        server.requested.connect(shell.handle)
        qt_app.aboutToQuit.connect(server.close)
    if os.environ.get(STARTUP_REPORT_ENV):
        _report_startup(app, started)
    QTimer.singleShot(0, app.start)
    qt_app.aboutToQuit.connect(app.shutdown)
    return qt_app.exec()


def _single_instance(paths: AppPaths, request: Request | None
                     ) -> tuple[InstanceServer | None, LoremindError | None]:
    """Listen for later launches: (server, None); (None, None) when a running instance took
    ``request``; (None, error) when the socket can't be used (this instance runs alone)."""
    from ui.instance_server import InstanceServer

    try:
        server = InstanceServer(socket_path(paths))
    except InstanceError as exc:
        return None, exc
    return (server, None) if server.listen(request) else (None, None)


def _report_startup(app: LoremindApp, started: float) -> None:
    """For the start-up benchmark: print when the window is up and when the model is ready."""

    def say(event: str) -> None:
        print(f"{event} {time.perf_counter() - started:.4f}", flush=True)

    QTimer.singleShot(0, lambda: say("window_shown"))
    app.ready.connect(lambda: (say("model_ready"), QTimer.singleShot(0, QApplication.quit)))
