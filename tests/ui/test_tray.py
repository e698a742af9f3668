"""The tray menu's actions (tray forced on), close-to-tray, and the real no-tray path."""

from __future__ import annotations

import pytest

import ui.shell
from assistant.instance import Request
from ui.shell import NO_TRAY_NOTICE, DesktopShell
from ui.tray import tray_available

pytestmark = pytest.mark.gui


def test_offscreen_has_no_tray_and_the_app_says_so_once(qtbot, window):
    assert not tray_available()
    first = DesktopShell(window.app, window)
    assert first.tray is None and first.menu is None
    first.start(minimized=True)  # nowhere to minimise to: the window shows
    assert window.isVisible()
    assert window.statusBar().currentMessage() == NO_TRAY_NOTICE
    window.statusBar().clearMessage()
    DesktopShell(window.app, window).start()
    assert window.statusBar().currentMessage() == ""


def test_without_a_tray_closing_the_window_closes_it(qtbot, window):
    window.app.settings.ui.close_to_tray = True
    shell = DesktopShell(window.app, window)
    assert not shell.closes_to_tray
    window.close()
    assert not window.isVisible()


def test_without_a_tray_quick_ask_still_opens_by_request(qtbot, window):
    shell = DesktopShell(window.app, window)
    shell.handle(Request("popup"))
    assert shell.popup.isVisible()


def test_the_settings_dialog_offers_close_to_tray_only_with_a_tray(qtbot, window, monkeypatch):
    dialog = window.open_settings()
    assert not dialog.close_to_tray.isEnabled()
    dialog.reject()
    monkeypatch.setattr("ui.settings_dialog.tray_available", lambda: True)
    dialog = window.open_settings()
    dialog.close_to_tray.setChecked(True)
    assert dialog.edited_settings().ui.close_to_tray
    dialog.reject()


def test_tray_menu_has_the_actions_in_order(shell):
    texts = [a.text() for a in shell.menu.actions() if not a.isSeparator()]
    assert texts == ["Quick ask…", "Open Loremind", "Pause memory", "Pause folder watching",
                     "Quit Loremind"]
    assert shell.menu.pause_memory.isEnabled()  # the app is ready


def test_quick_ask_and_open_loremind_from_the_menu(qtbot, shell, window):
    window.hide()
    shell.menu.quick_ask.trigger()
    assert shell.popup.isVisible()
    shell.menu.open_window.trigger()
    assert window.isVisible()
    shell.tray.clicked.emit()  # a click on the icon toggles quick ask
    assert not shell.popup.isVisible()


def test_pause_memory_from_the_menu(qtbot, shell, window):
    book = window.app.core.memory
    shell.menu.pause_memory.trigger()
    qtbot.waitUntil(lambda: book.paused, timeout=30000)
    qtbot.waitUntil(lambda: "Memory paused" in shell.tray.tooltip, timeout=30000)
    shell.menu.pause_memory.trigger()
    qtbot.waitUntil(lambda: not book.paused, timeout=30000)
    book.pause()  # paused elsewhere (the memory panel, the CLI): the menu catches up
    shell.menu.aboutToShow.emit()
    qtbot.waitUntil(lambda: shell.menu.pause_memory.isChecked(), timeout=30000)


def test_pause_folder_watching_from_the_menu(qtbot, shell, window):
    shell.menu.pause_watching.trigger()
    assert window.app.watching_paused and "Folder watching paused" in shell.tray.tooltip
    shell.menu.pause_watching.trigger()
    assert not window.app.watching_paused


def test_indexing_progress_shows_in_the_tooltip(shell, window):
    window.app.indexing_progress.emit("Indexing notes: 3/10 files · 40 chunks · 12/s")
    assert "Indexing notes: 3/10 files" in shell.tray.tooltip
    window.app.indexing_progress.emit("")
    window.app.status.emit("Ready", False)
    assert shell.tray.tooltip == "Loremind\nReady"


def test_close_to_tray_hides_the_window_and_keeps_the_app(qtbot, shell, window):
    window.app.settings.ui.close_to_tray = True
    window.close()
    assert not window.isVisible() and not window.app.tasks._closed
    shell.handle(Request("show"))
    assert window.isVisible()


def test_quit_from_the_menu_closes_for_real(qtbot, shell, window, monkeypatch):
    window.app.settings.ui.close_to_tray = True
    quits = []
    monkeypatch.setattr(ui.shell.QApplication, "quit", lambda: quits.append(True))
    shell.menu.quit.trigger()
    assert quits == [True] and not window.isVisible()


def test_minimized_start_with_a_tray_shows_no_window(qtbot, shell, window):
    window.hide()
    shell.start(minimized=True)
    assert not window.isVisible()
