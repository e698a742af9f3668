"""Chatting in the real window: streaming, stop, regenerate, edit, chats in the sidebar."""

from __future__ import annotations

import pytest

from ui.message_widgets import AssistantMessage, UserMessage
from ui.qt import QApplication, QKeySequence, Qt

pytestmark = pytest.mark.gui


def send(qtbot, window, text):
    """Type ``text`` and press Enter."""
    edit = window.chat.composer.edit
    edit.setPlainText(text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def wait_idle(qtbot, window, timeout=20000):
    qtbot.waitUntil(lambda: not window.chat.busy and not window.app.tasks.is_busy("model"),
                    timeout=timeout)


def answers(window):
    return [t for t in window.chat._turns if isinstance(t, AssistantMessage)]


def test_send_streams_an_answer_and_stores_the_chat(qtbot, window, errors):
    send(qtbot, window, "Hello there, what is the capital of France?")
    assert window.chat.busy
    qtbot.waitUntil(lambda: bool(answers(window) and answers(window)[-1].text), timeout=20000)
    wait_idle(qtbot, window)
    answer = answers(window)[-1]
    assert answer.text.strip()
    assert "tokens" in answer.stats.text()
    assert errors == []
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 1, timeout=30000)
    assert window.sidebar.list.item(0).text().startswith("Hello there")
    assert window.title.text().startswith("Hello there")


def test_shift_enter_adds_a_line_instead_of_sending(qtbot, window):
    edit = window.chat.composer.edit
    edit.setPlainText("first line")
    edit.moveCursor(edit.textCursor().MoveOperation.End)
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert edit.toPlainText() == "first line\n"
    assert not window.chat.busy


def test_escape_stops_the_answer(qtbot, window, settings):
    settings.generation.max_tokens = 1500
    # Holding the model keeps the answer from writing until Escape has come, however fast the
    # tiny model is or however busy the machine (it may end on its own after a few tokens).
    model = window.app.core.parts.model
    with model.lock:
        send(qtbot, window, "Tell me a long story about a cat")
        assert window.chat.busy
        qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Escape)
    wait_idle(qtbot, window)
    assert "stopped" in answers(window)[-1].stats.text()


def test_regenerate_replaces_the_last_answer(qtbot, window):
    send(qtbot, window, "Say something")
    wait_idle(qtbot, window)
    first = answers(window)[-1]
    assert first.regenerate_button.isVisibleTo(window)
    first.regenerate_button.click()
    wait_idle(qtbot, window)
    assert len(answers(window)) == 1 and answers(window)[-1] is not first
    session = window.app.core.chat.get(window.chat.session.id)
    assert [m.role for m in session.messages] == ["user", "assistant"]


def test_no_answer_offers_to_answer_again_while_one_is_written(qtbot, window):
    send(qtbot, window, "Say something")
    wait_idle(qtbot, window)
    first = answers(window)[-1]
    model = window.app.core.parts.model
    with model.lock:  # the next answer cannot end before the buttons are looked at
        send(qtbot, window, "Say something else")
        assert window.chat.busy
        qtbot.wait(100)  # the new bubble is on screen
        assert first is not answers(window)[-1]
        assert [a for a in answers(window) if a.regenerate_button.isVisibleTo(window)] == []
    wait_idle(qtbot, window)
    assert answers(window)[-1].regenerate_button.isVisibleTo(window)
    assert not first.regenerate_button.isVisibleTo(window)


def test_edit_last_message_answers_it_again(qtbot, window):
    send(qtbot, window, "Original question")
    wait_idle(qtbot, window)
    users = [t for t in window.chat._turns if isinstance(t, UserMessage)]
    users[-1].edit_button.click()
    assert window.chat.composer.editing
    assert window.chat.composer.text == "Original question"
    send(qtbot, window, "Edited question")
    wait_idle(qtbot, window)
    texts = [t.text for t in window.chat._turns if isinstance(t, UserMessage)]
    assert texts == ["Edited question"]
    stored = window.app.core.chat.get(window.chat.session.id)
    assert [m.text for m in stored.messages if m.role == "user"] == ["Edited question"]


def test_switching_chats_and_shortcuts(qtbot, window):
    send(qtbot, window, "First chat message")
    wait_idle(qtbot, window)
    first_id = window.chat.session.id
    qtbot.keySequence(window, QKeySequence("Ctrl+N"))
    assert window.chat.session.id != first_id and not window.chat._turns
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 1, timeout=30000)
    window.sidebar.list.itemClicked.emit(window.sidebar.list.item(0))
    qtbot.waitUntil(lambda: window.chat.session.id == first_id, timeout=30000)
    assert [type(t) for t in window.chat._turns] == [UserMessage, AssistantMessage]
    window.activateWindow()
    qtbot.waitActive(window)
    qtbot.keySequence(window, QKeySequence("Ctrl+K"))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.sidebar.search, timeout=5000)


def test_temporary_chat_is_not_listed(qtbot, window):
    window.sidebar.temporary_button.click()
    assert window.chat.session.temporary
    assert "Temporary" in window.subtitle.text()
    send(qtbot, window, "A secret question")
    wait_idle(qtbot, window)
    assert window.app.core.chat.list() == []


def test_rename_and_delete_a_chat(qtbot, window):
    send(qtbot, window, "To be renamed")
    wait_idle(qtbot, window)
    session_id = window.chat.session.id
    window.sidebar.apply_rename(session_id, "Renamed chat")
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 1
                    and window.sidebar.list.item(0).text() == "Renamed chat", timeout=30000)
    assert window.title.text() == "Renamed chat"
    window.sidebar.delete(session_id)
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 0, timeout=30000)
    assert window.chat.session.id != session_id
