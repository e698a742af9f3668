"""Start-up stays fast: the window code imports no heavy library; the app shuts down cleanly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ui.message_widgets import AssistantMessage
from ui.qt import Qt

pytestmark = pytest.mark.gui
HEAVY = ("lancedb", "llama_cpp", "torch", "sentence_transformers")


def test_opening_the_window_imports_no_heavy_library():
    code = ("import sys; from ui.qt import QApplication; from ui.app import LoremindApp; "
            "from ui.main_window import MainWindow; from assistant.config import Settings; "
            "from assistant.paths import app_paths; qt = QApplication([]); "
            "w = MainWindow(LoremindApp(Settings(), app_paths())); w.show(); "
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
    window.close()
    window.app.shutdown()
    assert not window.app.tasks.is_busy("model") or window.app.tasks._closed
    assert window.chat._cancel is None or window.chat._cancel.is_set()
