"""A real main window on a tiny generated model, the real embedder and a temporary database."""

from __future__ import annotations

import pytest

from assistant.config import Settings


@pytest.fixture(scope="session")
def chat_model_path(tmp_path_factory):
    """A tiny random model with room for long answers (stop needs something to stop)."""
    from assistant.bench.synthetic import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("ui-models") / "tiny-2k.gguf", context=2048)


@pytest.fixture
def settings():
    """Defaults with short answers: the tiny model's text is noise, only its flow matters."""
    settings = Settings()
    settings.model.context_size = 2048
    settings.generation.max_tokens = 16
    return settings


@pytest.fixture
def errors(monkeypatch):
    """Messages that went through the one error path, for tests to check."""
    shown: list[str] = []
    import ui.errors

    real = ui.errors.show_error

    def record(parent, exception):
        shown.append(ui.errors.user_message(exception))
        real(parent, exception)

    for module in ("ui.errors", "ui.tasks", "ui.chat_view", "ui.app", "ui.panels.knowledge"):
        __import__(module)
    monkeypatch.setattr(ui.errors, "show_error", record)
    import ui.app
    import ui.chat_view

    monkeypatch.setattr(ui.chat_view, "show_error", record)
    monkeypatch.setattr(ui.app, "show_error", record)
    return shown


@pytest.fixture
def app(qtbot, chat_model_path, embedder, store, settings, errors):
    """A LoremindApp over a core on the tiny model (ready once ``start`` ran)."""
    from assistant.core import Loremind
    from assistant.engine import LocalModel
    from assistant.paths import app_paths
    from ui.app import LoremindApp

    model = LocalModel.load(chat_model_path, context_size=2048)
    core = Loremind(app_paths(), settings, model=model, embedder=embedder, store=store)
    gui = LoremindApp(core, watch_folders=False)
    yield gui
    gui.shutdown()
    model.close()


@pytest.fixture
def window(qtbot, app):
    """The main window, shown and ready."""
    from ui.main_window import MainWindow

    main = MainWindow(app)
    qtbot.addWidget(main)
    main.show()
    with qtbot.waitSignal(app.ready, timeout=30000):
        app.start()
    return main


@pytest.fixture
def shell(qtbot, window, monkeypatch):
    """A shell with a tray icon: offscreen has no tray, so availability is forced on."""
    import ui.shell
    from ui.shell import DesktopShell

    monkeypatch.setattr(ui.shell, "tray_available", lambda: True)
    desktop = DesktopShell(window.app, window)
    yield desktop
    if desktop.tray is not None:
        desktop.tray.hide()


@pytest.fixture
def styled(qtbot):
    """The app's stylesheet, as the real app has it: its pixel sizes decide what fits."""
    from ui.qt import QApplication
    from ui.theme import apply_theme

    qt_app = QApplication.instance()
    before = qt_app.styleSheet()
    apply_theme(qt_app, "light")
    yield
    qt_app.setStyleSheet(before)
