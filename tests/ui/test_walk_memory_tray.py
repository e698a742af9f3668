"""What a walk through the app found in the memory panel, the tray and the window's comeback:
history for a memory nobody selected, a pause switch that never showed its state, icons left in
the old theme's colours, a maximised window that came back small, "35/" + "s" on two lines."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QItemSelectionModel, QTextBoundaryFinder

import ui.shell
from assistant.knowledge.indexer import Progress
from assistant.knowledge.progress_text import indexing_text
from tests.ui.helpers import wait_lanes
from tests.ui.test_layout_xvfb import run_tray_probe
from ui import theme
from ui.main_window import MainWindow
from ui.panels.memory import NO_HISTORY
from ui.qt import QIcon, Qt
from ui.shell import DesktopShell

pytestmark = pytest.mark.gui


def memory_panel(qtbot, window, *texts):
    """The memory panel with ``texts`` remembered through the core (newest first in the list)."""
    for text in texts:
        window.app.core.memory.remember(text)
    window.show_panel("memory")
    panel = window.panel("memory")
    wait_lanes(qtbot, window)
    qtbot.waitUntil(lambda: len(panel.memories) == len(texts), timeout=30000)
    return panel


def history_rows(panel):
    return [panel.history.item(row).text() for row in range(panel.history.count())]


def test_after_forget_nothing_is_selected_and_no_history_shows(qtbot, window):
    panel = memory_panel(qtbot, window, "I live in Lyon", "I prefer tea", "I cycle to work")
    tea = next(m for m in panel.memories if m.text == "I prefer tea")
    panel.select(tea.id)
    wait_lanes(qtbot, window)
    assert any("I prefer tea" in row for row in history_rows(panel))
    panel.forget_button.click()
    wait_lanes(qtbot, window)
    assert [m.text for m in panel.memories] == ["I cycle to work", "I live in Lyon"]
    # What focus entering the list does: a row becomes current without being selected.
    panel.list.setFocus()
    panel.list.selectionModel().setCurrentIndex(panel.list.model().index(0, 0),
                                                QItemSelectionModel.SelectionFlag.NoUpdate)
    wait_lanes(qtbot, window)
    assert panel.selected() is None and panel.list.selectedItems() == []
    assert history_rows(panel) == [NO_HISTORY]
    assert panel.editor.toPlainText() == "" and not panel.forget_button.isEnabled()


def test_history_that_arrives_for_another_memory_is_dropped(qtbot, window):
    panel = memory_panel(qtbot, window, "I live in Lyon", "I prefer tea")
    lyon, tea = (next(m for m in panel.memories if m.text == text)
                 for text in ("I live in Lyon", "I prefer tea"))
    panel.select(tea.id)
    wait_lanes(qtbot, window)
    shown = history_rows(panel)
    panel._show_history(lyon.id, window.app.core.memory.history(lyon.id))  # late, for Lyon
    assert history_rows(panel) == shown and "I prefer tea" in shown[0]


def test_long_history_rows_wrap_and_a_pin_is_an_icon(qtbot, window):
    window.app.apply_theme("light")  # the stylesheet's padding made a pinned row too wide
    panel = memory_panel(qtbot, window, "I prefer tea")
    memory = panel.memories[0]
    book = window.app.core.memory
    book.edit(memory.id, "I prefer green tea, brewed at 80 degrees for two minutes, never "
                         "with milk, and always from the blue pot on the windowsill")
    book.pin(memory.id)
    wait_lanes(qtbot, window)
    qtbot.waitUntil(lambda: panel.memories[0].pinned, timeout=30000)
    item = panel.list.item(0)
    assert "📌" not in item.text() and not item.icon().isNull()
    assert not panel.list.horizontalScrollBar().isVisible()
    panel.select(memory.id)
    wait_lanes(qtbot, window)
    rows = history_rows(panel)
    assert any("windowsill" in row for row in rows)

    def rows_fit() -> bool:  # rewrapped once the vertical scroll bar took its room
        viewport = panel.history.viewport().width()
        return all(panel.history.visualItemRect(panel.history.item(row)).right() < viewport
                   for row in range(panel.history.count()))

    qtbot.waitUntil(rows_fit, timeout=3000)
    assert panel.history.horizontalScrollBar().maximum() == 0


def test_pause_switches_show_their_state(qtbot, shell, window):
    book, menu = window.app.core.memory, shell.menu
    assert menu.pause_memory.icon().isNull()  # with an icon, Qt draws no check mark
    book.pause(True)  # elsewhere (the memory panel, the CLI): the change reaches the tray
    qtbot.waitUntil(menu.pause_memory.isChecked, timeout=30000)
    assert menu.pause_memory.text() == "Pause memory"  # ticked: memory is paused
    menu.pause_memory.trigger()
    qtbot.waitUntil(lambda: not book.paused, timeout=30000)
    qtbot.waitUntil(lambda: not menu.pause_memory.isChecked(), timeout=30000)
    menu.pause_watching.trigger()
    assert menu.pause_watching.isChecked()
    menu.pause_watching.trigger()
    assert not menu.pause_watching.isChecked()


def test_a_checked_switch_looks_checked(qtbot, shell):
    menu = shell.menu
    menu.adjustSize()
    unchecked = menu.grab().toImage()
    menu.pause_memory.setChecked(True)  # the label unchanged: only the check differs
    checked = menu.grab().toImage()
    assert checked != unchecked


def ink(icon: QIcon) -> str:
    """The colour most of an icon's solid pixels have."""
    image = icon.pixmap(16).toImage()
    solid = Counter(image.pixelColor(x, y).name() for x in range(image.width())
                    for y in range(image.height()) if image.pixelColor(x, y).alpha() >= 240)
    return solid.most_common(1)[0][0]


def test_switching_theme_redraws_the_tray_and_panel_icons(qtbot, shell, window):
    panel = memory_panel(qtbot, window)
    light = theme.read_palette("light")
    dark = theme.read_palette("dark")
    assert ink(shell.menu.quick_ask.icon()) == light["text"]
    dialog = window.open_settings()
    dialog.appearance.setCurrentIndex(dialog.appearance.findData("dark"))
    try:
        dialog.save()
        wait_lanes(qtbot, window)
        assert [ink(action.icon()) for action in (shell.menu.quick_ask, shell.menu.quit)] \
            == [dark["text"]] * 2
        assert ink(panel.forget_button.icon()) == dark["muted"]
        # Every icon follows, not only those someone set again: they draw at paint time.
        assert ink(window.settings_button.icon()) == dark["muted"]
        assert ink(window.sidebar.new_button.icon()) == dark["accent_text"]
    finally:
        window.app.apply_theme("light")
    assert ink(shell.menu.quick_ask.icon()) == light["text"]


def test_a_maximised_window_comes_back_maximised(qtbot, window):
    first = DesktopShell(window.app, window)  # kept: its event filter sees the close
    window.showMaximized()
    qtbot.waitUntil(window.isMaximized)
    window.close()
    assert first.state.value(ui.shell.GEOMETRY_KEY)
    again = MainWindow(window.app)
    qtbot.addWidget(again)
    DesktopShell(window.app, again).start()
    assert again.isVisible()
    assert again.windowState() & Qt.WindowState.WindowMaximized


def test_a_maximised_window_hidden_in_the_tray_comes_back_maximised(qtbot, shell, window):
    window.app.settings.ui.close_to_tray = True
    window.showMaximized()
    qtbot.waitUntil(window.isMaximized)
    window.close()
    assert not window.isVisible() and shell.state.value(ui.shell.GEOMETRY_KEY)
    again = MainWindow(window.app)
    qtbot.addWidget(again)
    second = DesktopShell(window.app, again)
    second.start()
    second.tray.hide()
    assert again.windowState() & Qt.WindowState.WindowMaximized


def test_a_normal_window_comes_back_where_it_was(qtbot, window):
    first = DesktopShell(window.app, window)  # kept: its event filter sees the close
    window.showNormal()
    window.resize(790, 480)  # offscreen's screen is 800×600: new windows get 784×552
    qtbot.waitUntil(lambda: window.size().height() == 480)
    window.close()
    assert first.state.value(ui.shell.GEOMETRY_KEY)
    again = MainWindow(window.app)
    qtbot.addWidget(again)
    DesktopShell(window.app, again).start()
    assert not again.isMaximized()
    assert (again.width(), again.height()) == (790, 480)


def line_breaks(text: str) -> list[int]:
    finder = QTextBoundaryFinder(QTextBoundaryFinder.BoundaryType.Line, text)
    found = []
    while (position := finder.toNextBoundary()) != -1:
        found.append(position)
    return found


def test_the_indexing_rate_never_wraps_inside_itself():
    text = indexing_text("Notes", Progress(3, 10, 40, 9.4))
    assert text.replace("\u2060", "").endswith("40 passages · 9/s")
    rate = text.rindex("9")
    assert [at for at in line_breaks(text) if rate < at < len(text)] == []


def test_the_tray_notice_goes_away_under_the_pointer_and_before_quick_ask(tmp_path):
    """Qt's own balloon (no notification service) stayed while the pointer was on it."""
    found = run_tray_probe("tests.ui.balloon_close_probe", tmp_path,
                           LOREMIND_HOME=str(tmp_path / "home"))
    assert found == {"tray": True, "shown": True, "under_pointer": True,
                     "stays_under_pointer": False, "shown_again": True,
                     "stays_over_quick_ask": False, "quick_ask": True}
