"""The running GUI: the application object that holds the core, and ``run_gui``.

Start-up shows the window first and loads the heavy parts (llama.cpp, LanceDB, the embedder)
afterwards on worker lanes, in parallel: nothing heavier than Qt and the settings is imported
before the window is on screen.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.defaults import force_offline
from assistant.errors import InstanceError, LoremindError
from assistant.instance import Query, Request, socket_path
from assistant.paths import AppPaths, app_paths
from ui.errors import install_excepthook, show_error
from ui.qt import QApplication, QEvent, QKeyEvent, QObject, Qt, QTimer, Signal
from ui.tasks import BackgroundOp, TaskManager

if TYPE_CHECKING:
    from assistant.connect.host import ConnectHost
    from assistant.core import Change, Job, Loremind
    from ui.instance_server import InstanceServer, QueryReply
    from ui.main_window import MainWindow

log = logging.getLogger(__name__)
STARTUP_REPORT_ENV = "LOREMIND_STARTUP_REPORT"  # set by `loremind bench startup`
STARTUP_QUESTION_ENV = "LOREMIND_STARTUP_QUESTION"  # … with the question it asks at once


class LoremindApp(QObject):
    """What one running GUI shares: the core, its worker lanes, and the core's changes as a
    signal on the main thread (the one way every view learns it must refresh)."""

    status = Signal(str, bool)  # message for the status bar, whether work is in progress
    ready = Signal()  # everything is loaded (model, embedder and database)
    answering = Signal()  # the model is loaded: questions are answered (documents may still load)
    changed = Signal(object)  # a Change from the core, delivered on the main thread
    job_changed = Signal(object)  # a Job of the core's scheduler, on the main thread
    indexing_progress = Signal(str)  # what indexing is doing now; "" when it is done
    theme_changed = Signal(str)  # the palette now in use: icons drawn in the old one redraw

    def __init__(self, core: Loremind, watch_folders: bool = True) -> None:
        super().__init__()
        self.core = core
        self.paths = core.paths
        self.tasks = TaskManager(core.scheduler)
        self.watch_folders = watch_folders
        self.is_ready = False
        self.watching_paused = False
        self._loaded: dict[str, BaseException | None] = {}
        self.connect_host: ConnectHost | None = None  # other apps' server, once ready
        self._unsubscribe = core.changes.subscribe(
            lambda change: self.tasks.post(lambda: self._announce(change)))
        self._unsubscribe_jobs = core.scheduler.subscribe(
            lambda job: self.tasks.post(lambda: self._job_changed(job)))

    @property
    def settings(self) -> Settings:
        """The settings in force."""
        return self.core.current_settings

    @property
    def takes_questions(self) -> bool:
        """Whether a question can be sent now: once the model is loaded, without waiting for
        the database and the embedder (that answer does without documents and says so), or
        once everything else is (a model that failed then says why when asked)."""
        return self.is_ready or self._model_loaded

    def _announce(self, change: Change) -> None:
        from assistant.core import Area

        if change.about(Area.SETTINGS) and change.action == "model":
            self.reload_model()
        self.changed.emit(change)

    def _job_changed(self, job: Job) -> None:
        self.job_changed.emit(job)
        if job.owner.startswith(("folder:", "embedder:")):
            self.indexing_progress.emit(self.indexing_text())

    def indexing_text(self) -> str:
        """What indexing is doing now, in words ("" when no folder is being indexed): a sync
        running, else the rebuild for another embedder, else a sync waiting."""
        from pathlib import Path

        from assistant.core import JobState, indexing_text

        for job in self.core.knowledge.indexing_jobs():
            name = Path(job.owner.removeprefix("folder:")).name or job.owner
            if job.state is JobState.STOPPING:
                return f"Stopping the indexing of {name}…"
            if job.state is JobState.RUNNING:
                return indexing_text(name, job.progress) if job.progress else f"{job.title}…"
        queued = self.core.knowledge.indexing_jobs()
        rebuilding = self.core.knowledge.rebuild_text()
        if rebuilding or not queued:
            return rebuilding
        return f"{queued[0].title}: waiting for other work to finish…"

    def start(self) -> None:
        """Load the model on the model lane while the database and embedder load on the
        interactive lane (the core's start_loading)."""
        self.status.emit("Loading the model and the embedder…", True)
        model, knowledge = self.core.start_loading()
        for part, job in (("model", model), ("store", knowledge)):
            job.future.add_done_callback(functools.partial(self._post_loaded, part))

    def _post_loaded(self, part: str, future: Future[Any]) -> None:
        self.tasks.post(lambda: self._part_loaded(part, future))

    @property
    def _model_loaded(self) -> bool:
        return "model" in self._loaded and self._loaded["model"] is None

    def _part_loaded(self, part: str, future: Future[Any]) -> None:
        if future.cancelled():
            return  # the app is closing
        error = future.exception()
        if error is not None:
            show_error(None, error)
        self._loaded[part] = error
        if part == "model" and error is None:
            self.answering.emit()
            if "store" not in self._loaded:
                self.status.emit("Ask away: your documents and memories are still loading…", True)
        if len(self._loaded) < 2:
            return
        if self._loaded["store"] is not None:
            self.status.emit("Loremind could not open its database.", False)
            return
        self.is_ready = True
        read_only = self.core.knowledge.read_only_reason  # a shared library another machine writes
        self.status.emit(("Ready" if not read_only else f"Ready. {read_only}")
                         if self._loaded["model"] is None else
                         "The model did not load: choose another in Settings (Ctrl+,).", False)
        self.start_watching()
        self._serve_other_apps()
        self.ready.emit()

    def serve(self, query: Query, reply: QueryReply) -> None:
        """Do a command line's search or answer with the parts loaded here (on the lane that
        does such work for the window), sending its replies back as they come."""
        from assistant.core import serve_query

        def send(line: dict[str, Any]) -> None:
            def write() -> None:
                reply.send(line)
                if line.get("kind") in ("end", "error"):
                    self.tasks.untrack(reply.cancel)
                    reply.finish()
            self.tasks.post(write)

        self.tasks.track(reply.cancel)  # quitting the app stops the answer too
        serve_query(self.core, query, send, reply.cancel)  # returns at once

    def _serve_other_apps(self) -> None:
        """Serve other apps while Settings → Connections say so (started on the db lane; it
        then follows every change of the settings)."""
        from assistant.connect.host import ConnectHost

        self.connect_host = ConnectHost(
            self.core, on_error=lambda exc: self.tasks.post(lambda: show_error(None, exc)))
        self.tasks.run("db", self.connect_host.apply)

    # -- settings ------------------------------------------------------------------------------

    def update_settings(self, settings: Settings) -> None:
        """Save ``settings`` (db lane); the model reloads in the background when its settings
        changed, and every view refreshes from the change."""
        BackgroundOp(None, lambda: self.core.settings.update(settings)).run(self.tasks, "db")

    def apply_theme(self, appearance: str) -> None:
        """Restyle the running app in ``appearance`` and tell the views that drew icons."""
        from ui.theme import apply_theme

        qt_app = QApplication.instance()
        if isinstance(qt_app, QApplication):
            self.theme_changed.emit(apply_theme(qt_app, appearance))

    def reload_model(self) -> None:
        """Load the model the settings name and swap it in once it is ready."""
        if not self.is_ready:
            return
        self.status.emit("Loading the model…", True)

        def swapped(future: Future[Any]) -> None:
            error = future.exception()
            if error is not None:
                self.status.emit("The model did not load: the old one stays.", False)
                show_error(None, error)
                return
            self.status.emit("Ready", False)

        self.tasks.run("model", self.core.models.reload, swapped)

    # -- watched folders -----------------------------------------------------------------------

    def start_watching(self) -> None:
        """Follow the watched folders and the adapter folders (on the index lane)."""
        if not self.watch_folders:
            return

        def start() -> None:
            self.core.knowledge.start_watching(
                on_error=lambda exc: self.tasks.post(lambda: show_error(None, exc)))
            self.core.adapters.start_watching()

        self.tasks.run("index", start)

    def pause_watching(self, paused: bool) -> None:
        """Stop following the watched folders, or follow them again (catching up at once)."""
        self.watching_paused = paused
        self.tasks.run("index", lambda: self.core.knowledge.pause_watching(paused))

    def shutdown(self) -> None:
        """Stop answers and indexing, wait for the workers, free the model."""
        self._unsubscribe()
        self._unsubscribe_jobs()
        if self.connect_host is not None:
            self.connect_host.close()
        self.tasks.shutdown()
        self.core.close()


def run_gui(argv: list[str] | None = None, *, minimized: bool = False,
            popup: bool = False, question: str = "") -> int:
    """Open the main window (or only the tray with ``minimized``, and quick ask with ``popup``)
    and run until quit; returns the exit status. When Loremind already runs, hand it the
    request instead and return 0."""
    started = time.perf_counter()
    force_offline()
    paths = app_paths().ensure()
    existing = QApplication.instance()
    qt_app = existing if isinstance(existing, QApplication) else QApplication(argv or sys.argv)
    qt_app.setApplicationName("Loremind")
    qt_app.setOrganizationName("Loremind")
    install_excepthook()
    request = (Request("popup", question) if popup else None if minimized
               else Request("show"))  # started minimized (at log-in) while running: nothing to do
    server, server_problem = _single_instance(paths, request)
    if server is None and server_problem is None:
        return 0  # the running instance took over
    from assistant.core import Loremind
    from ui.main_window import MainWindow
    from ui.shell import DesktopShell
    from ui.theme import apply_theme, logo

    core = Loremind.open(paths, lenient=True)  # unreadable settings: the defaults, and a message
    apply_theme(qt_app, core.current_settings.ui.appearance)
    qt_app.setWindowIcon(logo())
    app = LoremindApp(core)
    window = MainWindow(app)
    shell = DesktopShell(app, window)
    shell.start(minimized=minimized)
    if not minimized:
        from ui.first_run import maybe_show_first_run

        QTimer.singleShot(0, lambda: maybe_show_first_run(
            app, window, lambda: window.show_panel("models")))
    if popup:
        shell.show_popup(question)
    for error in (*core.problems, server_problem):
        if error is not None:
            show_error(window, error)
    if server is not None:
        server.requested.connect(shell.handle)
        server.queried.connect(app.serve)
        qt_app.aboutToQuit.connect(server.close)
    QTimer.singleShot(0, app.start)  # first of the queued calls: loading starts at once
    if os.environ.get(STARTUP_REPORT_ENV):
        _report_startup(app, window, started)
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


class _FirstExpose(QObject):
    """Calls ``then`` once a top-level window's first expose has been handled: Qt paints and
    flushes the window's first frame while handling it, so that is when it is on screen."""

    def __init__(self, exposed: Callable[[], bool], then: Callable[[], None],
                 parent: QObject) -> None:
        super().__init__(parent)
        self._exposed = exposed
        self._then: Callable[[], None] | None = then

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._then is not None and event.type() == QEvent.Type.Expose and self._exposed():
            QTimer.singleShot(0, self._then)  # after the expose's paint and flush
            self._then = None
        return super().eventFilter(watched, event)


def _report_startup(app: LoremindApp, window: MainWindow, started: float) -> None:
    """For the start-up benchmark: print the Qt platform and when the window's first frame is
    painted, when a question typed as soon as the window takes it shows its first token (or why
    it failed), and when everything is loaded. The question goes in as a user's would: typed
    into the chat's box and sent with Enter."""
    question = os.environ.get(STARTUP_QUESTION_ENV, "")

    def say(event: str, detail: str = "") -> None:
        print(f"{event} {time.perf_counter() - started:.4f} {detail}".rstrip(), flush=True)

    def ready() -> None:
        say("model_ready")
        if not question:
            QTimer.singleShot(0, QApplication.quit)

    def type_question() -> None:
        edit = window.chat.composer.edit
        if question and edit.isEnabled() and not edit.toPlainText():
            edit.setFocus()
            edit.insertPlainText(question)
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(edit, QKeyEvent(kind, Qt.Key.Key_Return,
                                                       Qt.KeyboardModifier.NoModifier))

    def shown(event: object) -> None:
        from assistant.core import Failed, Token

        if isinstance(event, Failed):
            say("failed", event.message)
        elif isinstance(event, Token):
            say("first_token")
        else:
            return
        window.chat.event_shown.disconnect(shown)
        QTimer.singleShot(0, QApplication.quit)

    def first_frame() -> None:
        say("platform", QApplication.platformName())
        say("window_shown")

    handle = window.windowHandle()
    if handle is None or handle.isExposed():
        QTimer.singleShot(0, first_frame)
    else:
        handle.installEventFilter(_FirstExpose(handle.isExposed, first_frame, window))
    window.chat.event_shown.connect(shown)
    app.answering.connect(type_question)
    app.ready.connect(type_question)  # the model failed: the question then says why
    app.ready.connect(ready)
