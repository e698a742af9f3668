"""What the GUI tests share: waiting for the worker lanes, and sending a message."""

from __future__ import annotations

from ui.qt import Qt

LANES = ("model", "db", "index")


def wait_lanes(qtbot, window, timeout=30000):
    """Block until no worker lane of the window's app has work left."""
    tasks = window.app.tasks
    qtbot.waitUntil(lambda: not any(tasks.is_busy(lane) for lane in LANES), timeout=timeout)


def send(qtbot, window, text):
    """Type ``text`` in the chat, press Enter, and wait until the answer is on screen whole
    (answers run on the core's model lane, not the window's) and its writes end."""
    window.chat.composer.edit.setPlainText(text)
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=30000)
    wait_lanes(qtbot, window)
