"""Start-up stays fast: the window code imports no heavy library; the app shuts down cleanly."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from ui.message_widgets import AssistantMessage
from ui.qt import Qt

pytestmark = pytest.mark.gui
HEAVY = ("lancedb", "llama_cpp", "torch", "sentence_transformers")


def test_opening_the_window_imports_no_heavy_library():
    code = ("import sys; from ui.qt import QApplication; from ui.app import LoremindApp; "
            "from ui.main_window import MainWindow; from assistant.config import Settings; "
            "from assistant.paths import app_paths; from assistant.core import Loremind; "
            "qt = QApplication([]); "
            "w = MainWindow(LoremindApp(Loremind(app_paths(), Settings()))); w.show(); "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_quitting_during_an_answer_cancels_and_joins(qtbot, window, settings):
    settings.generation.max_tokens = 1500
    window.chat.composer.edit.setPlainText("Write a very long story")
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool([t for t in window.chat._turns
                                  if isinstance(t, AssistantMessage) and t.text]), timeout=20000)
    run = window.app.core.chat.running(window.chat.session.id)
    assert run is not None
    window.close()
    window.app.shutdown()  # returns only once the answer's lane has stopped
    assert run.options.cancel.is_set() and run.ended
    session = window.chat.session
    assert session is not None and session.messages[-1].role == "assistant"
    assert len(session.messages[-1].text.split()) < 1500  # stopped well before max_tokens
    assert window.app.core.parts.loaded_model is None  # the model was freed


def test_the_chat_takes_a_question_once_the_model_is_loaded(qtbot, app, monkeypatch):
    """A question typed at launch is answered as soon as the model is in, not once the
    database and the embedder (seconds of torch on a small machine) are loaded too."""
    from ui.main_window import MainWindow

    knowledge_may_load = threading.Event()
    load_knowledge = app.core.load_knowledge

    def held_back() -> None:  # the database and embedder are still loading meanwhile
        knowledge_may_load.wait(60)
        load_knowledge()

    monkeypatch.setattr(app.core, "load_knowledge", held_back)
    main = MainWindow(app)
    qtbot.addWidget(main)
    main.show()
    assert not main.chat.composer.isEnabled()
    with qtbot.waitSignal(app.answering, timeout=30000):
        app.start()
    assert not app.is_ready and main.chat.composer.isEnabled()
    assert "no model loaded" not in main.subtitle.text()  # the model is named at once
    main.chat.composer.edit.setPlainText("Hello there")
    qtbot.keyClick(main.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool([t for t in main.chat._turns
                                  if isinstance(t, AssistantMessage) and t.text]), timeout=20000)
    assert not app.is_ready  # answered while the rest was still loading
    qtbot.waitUntil(lambda: not main.chat.busy, timeout=20000)
    with qtbot.waitSignal(app.ready, timeout=30000):
        knowledge_may_load.set()
    session = main.chat.session
    assert session is not None
    # The chat is stored once the answer is out, and the chat list shows it.
    qtbot.waitUntil(lambda: any(s.id == session.id for s in main.sidebar.sessions),
                    timeout=20000)
