"""The quick-ask popup: ask, the answer streams in, continue the chat in the main window."""

from __future__ import annotations

import pytest

from ui.message_widgets import AssistantMessage, UserMessage
from ui.qt import QRect, Qt

pytestmark = pytest.mark.gui


@pytest.fixture
def popup(qtbot, app):
    """The popup on a ready app, shown near the cursor."""
    from ui.quick_ask import QuickAskPopup

    with qtbot.waitSignal(app.ready, timeout=30000):
        app.start()
    widget = QuickAskPopup(app)
    qtbot.addWidget(widget)
    widget.open_near(None)
    return widget


def answers(chat):
    return [t for t in chat._turns if isinstance(t, AssistantMessage)]


def ask(qtbot, popup, text):
    popup.chat.composer.edit.setPlainText(text)
    qtbot.keyClick(popup.chat.composer.edit, Qt.Key.Key_Return)


def wait_answered(qtbot, popup):
    qtbot.waitUntil(lambda: not popup.chat.busy and not popup.app.tasks.is_busy("model"),
                    timeout=20000)


def test_the_popup_is_a_small_frameless_window_on_top(popup):
    flags = popup.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    assert popup.isVisible() and popup.width() < 700
    assert popup.chat.composer.isEnabled()
    assert not popup.main_button.isEnabled()  # nothing to continue yet


def test_an_answer_streams_into_the_popup_and_the_chat_is_stored(qtbot, popup, errors):
    ask(qtbot, popup, "What is the capital of France?")
    assert popup.chat.busy
    qtbot.waitUntil(lambda: bool(answers(popup.chat) and answers(popup.chat)[-1].text),
                    timeout=20000)
    wait_answered(qtbot, popup)
    assert answers(popup.chat)[-1].text.strip()
    assert "tokens" in answers(popup.chat)[-1].stats.text()
    stored = popup.app.core.chat.get(popup.chat.session.id)
    assert [m.role for m in stored.messages] == ["user", "assistant"]
    assert popup.main_button.isEnabled()
    assert errors == []


def test_open_in_main_window_continues_the_chat_there(qtbot, window, errors):
    from ui.shell import DesktopShell

    shell = DesktopShell(window.app, window)
    shell.show_popup("Tell me about espresso")
    popup = shell.popup
    wait_answered(qtbot, popup)
    session = popup.chat.session
    popup.main_button.click()
    assert not popup.isVisible()
    assert window.chat.session is session and window.isVisible()
    assert [type(t) for t in window.chat._turns] == [UserMessage, AssistantMessage]
    assert popup.chat.session is not session and not popup.chat._turns
    window.chat.composer.edit.setPlainText("And about milk?")
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.chat.busy and not window.app.tasks.is_busy("model"),
                    timeout=20000)
    stored = window.app.core.chat.get(session.id)
    assert [m.text for m in stored.messages if m.role == "user"] == [
        "Tell me about espresso", "And about milk?"]
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 1, timeout=30000)
    assert errors == []


def test_escape_hides_the_popup(qtbot, popup):
    qtbot.keyClick(popup.chat.composer.edit, Qt.Key.Key_Escape)
    assert not popup.isVisible()


def test_a_question_asked_before_the_model_is_ready_waits_for_it(qtbot, app, settings):
    from ui.app import LoremindApp
    from ui.quick_ask import QuickAskPopup

    starting = LoremindApp(app.core, watch_folders=False)
    popup = QuickAskPopup(starting)
    qtbot.addWidget(popup)
    popup.ask("Are you there?")
    assert not popup.chat.composer.isEnabled() and popup.chat.session is None
    starting.start()
    qtbot.waitUntil(lambda: bool(answers(popup.chat)), timeout=30000)
    wait_answered(qtbot, popup)
    assert [t.text for t in popup.chat._turns if isinstance(t, UserMessage)] == ["Are you there?"]
    starting.tasks.shutdown()


def test_the_popup_opens_beside_the_tray_and_stays_on_screen(popup):
    area = popup.screen().availableGeometry()
    bottom_right = QRect(area.right() - 30, area.bottom() - 24, 24, 24)
    corner = popup.position_for(bottom_right)
    assert corner.y() + popup.height() < bottom_right.top()
    assert corner.x() + popup.width() <= area.right()
    top_left = QRect(area.left() + 4, area.top(), 24, 24)
    corner = popup.position_for(top_left)
    assert corner.y() > top_left.bottom() and corner.x() >= area.left()
