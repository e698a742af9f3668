"""What a new user tripped over, and the chat features they expect, in the real window."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.paths import app_paths
from tests.ui.helpers import send, wait_lanes
from tests.ui.layout_checks import cut_texts, overflowing_views
from ui.message_widgets import AssistantMessage
from ui.qt import (
    QFileDialog,
    QGuiApplication,
    QKeySequence,
    QLabel,
    QPushButton,
    QScrollArea,
    QShortcut,
    QSize,
    Qt,
    QWidget,
)

pytestmark = pytest.mark.gui




def answers(window):
    return [t for t in window.chat._turns if isinstance(t, AssistantMessage)]


def test_window_size_leaves_room_for_the_frame():
    from ui.window_actions import fitted_size

    assert fitted_size(QSize(1280, 820), QSize(1280, 800)) == QSize(1264, 752)
    assert fitted_size(QSize(1280, 820), QSize(1920, 1080)) == QSize(1280, 820)


def test_layout_checks_find_cut_text_and_overflow(qtbot):
    """The checks the Xvfb layout test relies on do fail on what they look for."""
    root = QWidget()
    qtbot.addWidget(root)
    button = QPushButton("Forget", root)
    button.setGeometry(0, 0, 30, 24)
    text = QLabel("Search memories and more", root)
    text.setGeometry(0, 30, 50, 20)
    area = QScrollArea(root)
    area.setWidgetResizable(True)
    inner = QWidget()
    inner.setMinimumWidth(900)
    area.setWidget(inner)
    area.setGeometry(0, 60, 300, 100)
    root.resize(400, 200)
    root.show()
    qtbot.waitExposed(root)
    assert len(cut_texts(root)) == 2
    assert len(overflowing_views(root)) == 1


def test_shortcut_sheet_lists_every_shortcut(qtbot, window):
    from ui.shortcuts import ShortcutSheet

    qtbot.keySequence(window, QKeySequence("Ctrl+/"))
    sheet = window.findChild(ShortcutSheet)
    assert sheet is not None and sheet.isVisible()
    listed = {keys for keys, _does in sheet.rows}
    registered = {s.key().toString(QKeySequence.SequenceFormat.NativeText)
                  for s in window.findChildren(QShortcut)}
    assert registered and registered <= listed
    assert {"Ctrl+N", "Ctrl+K", "Ctrl+,", "Esc", "Ctrl+/", "Enter"} <= listed
    menu = [a.text() for a in window.more_button.menu().actions()]
    assert "Keyboard shortcuts\tCtrl+/" in menu
    assert "Ctrl+N" in window.sidebar.new_button.toolTip()


def test_copy_says_copied(qtbot, window):
    send(qtbot, window, "Say something")
    answer = answers(window)[-1]
    answer.copy_button.click()
    assert QGuiApplication.clipboard().text() == answer.text
    assert answer.copied.isVisibleTo(window) and answer.copied.text() == "Copied"
    qtbot.waitUntil(lambda: not answer.copied.isVisibleTo(window), timeout=5000)


def test_regenerate_keeps_answers_to_page_through(qtbot, window):
    send(qtbot, window, "Say something")
    first = answers(window)[-1].text
    answers(window)[-1].regenerate_button.click()
    wait_lanes(qtbot, window)
    answer = answers(window)[-1]
    assert answer.page.isVisibleTo(window) and answer.page.text() == "2/2"
    answer.previous_button.click()
    wait_lanes(qtbot, window)
    assert answer.page.text() == "1/2" and answer.text == first
    stored = window.app.core.chat.get(window.chat.session.id).messages[-1]
    assert (stored.text, stored.version, len(stored.versions)) == (first, 0, 2)
    send(qtbot, window, "And then?")  # an earlier answer still pages, and stays chosen
    answer.next_button.click()
    wait_lanes(qtbot, window)
    assert answer.page.text() == "2/2"
    assert window.app.core.chat.get(window.chat.session.id).messages[1].version == 1


def test_reopened_chat_keeps_its_stats_and_stopped_marker(qtbot, window):
    window.chat.composer.edit.setPlainText("Tell me a long story about a cat")
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Escape)  # stopped before it ends
    wait_lanes(qtbot, window)
    assert "stopped" in answers(window)[-1].stats.text()
    session_id = window.chat.session.id
    window.new_chat()
    window.open_chat(session_id)
    qtbot.waitUntil(lambda: window.chat.session.id == session_id and bool(answers(window)),
                    timeout=30000)
    line = answers(window)[-1].stats.text()
    assert "tokens" in line and "stopped" in line


def test_chat_search_filters_the_list(qtbot, window):
    send(qtbot, window, "At what temperature should we brew espresso?")
    window.new_chat()
    send(qtbot, window, "Tell me a story about a cat")
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 2, timeout=30000)
    qtbot.keySequence(window, QKeySequence("Ctrl+K"))
    # Unrelated to both chats, and a real phrase: a nonsense word like "xyzzy" can sit close in
    # meaning to the tiny test model's nonsense answers (cosine up to 0.36 against random words).
    qtbot.keyClicks(window.sidebar.search, "volcano eruption insurance")
    qtbot.waitUntil(lambda: window.sidebar._content_hits is not None, timeout=30000)
    assert window.sidebar.list.count() == 0
    window.sidebar.search.setText("coffee brewing heat")
    qtbot.waitUntil(lambda: window.sidebar._content_hits is not None, timeout=30000)
    assert [window.sidebar.list.item(i).text() for i in range(window.sidebar.list.count())] \
        == ["At what temperature should we brew espresso?"]


def test_deleting_a_chat_can_be_undone(qtbot, window):
    send(qtbot, window, "Keep this chat")
    session_id = window.chat.session.id
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 1, timeout=30000)
    window.sidebar.delete(session_id)
    qtbot.waitUntil(lambda: window.undo_bar.isVisible(), timeout=30000)
    assert "Keep this chat" in window.undo_bar.text.text()
    assert not window.app.core.parts.conversations.exists(session_id)
    window.undo_bar.undo_button.click()
    wait_lanes(qtbot, window)
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 1, timeout=30000)
    restored = window.app.core.chat.get(session_id)
    assert [m.role for m in restored.messages] == ["user", "assistant"]


def test_undoing_a_delete_marks_its_teach_examples_again(qtbot, window):
    send(qtbot, window, "Mark this answer")
    session = window.chat.session
    examples = window.app.core.teach.examples
    examples.mark(session.id, session.messages[-1].id, rewrite="A better answer")
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 1, timeout=30000)
    window.sidebar.delete(session.id)
    qtbot.waitUntil(lambda: window.undo_bar.isVisible(), timeout=30000)
    assert examples.all() == []
    window.undo_bar.undo_button.click()
    wait_lanes(qtbot, window)
    assert [e.rewrite for e in examples.all()] == ["A better answer"]


def test_a_chat_stored_damaged_opens_and_says_so(qtbot, window, errors):
    from assistant.chat.conversations import ChatMessage, ChatSession

    chats = window.app.core.parts.conversations
    session = ChatSession(title="Damaged")
    chats.append(session, ChatMessage("user", "A question about tides"))
    chats.append(session, ChatMessage("assistant", "An answer about tides"))
    window.app.core.parts.store.update("messages", f"session_id = '{session.id}'",
                                       {"sources": "{not json", "versions": "[1]"})
    window.open_chat(session.id)
    wait_lanes(qtbot, window)
    assert window.chat.session.id == session.id and len(answers(window)) == 1
    assert "could not be read" in window.status_text.text()
    assert errors == []


def test_forget_offers_undo_at_once(qtbot, window):
    book = window.app.core.memory
    window.show_panel("memory")
    panel = window.panel("memory")
    panel.add_box.setText("I prefer metric units")
    qtbot.keyClick(panel.add_box, Qt.Key.Key_Return)
    wait_lanes(qtbot, window)
    qtbot.waitUntil(lambda: bool(panel.memories), timeout=30000)
    memory = panel.memories[0]
    panel.select(memory.id)
    panel.forget_button.click()
    wait_lanes(qtbot, window)
    assert book.list() == []
    assert window.undo_bar.isVisible() and "metric units" in window.undo_bar.text.text()
    window.undo_bar.undo_button.click()
    wait_lanes(qtbot, window)
    assert book.get(memory.id).status == "active"
    assert cut_texts(panel) == []


def test_a_file_nothing_can_open_says_so(qtbot, window, tmp_path, monkeypatch, errors):
    from ui.message_widgets import SourceCard

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.xyz").write_text("notes")
    monkeypatch.setattr("ui.message_widgets.QDesktopServices.openUrl", lambda url: False)
    card = SourceCard({"number": 1, "path": str(docs / "notes.xyz"), "text": "notes"},
                      [str(docs)])
    qtbot.addWidget(card)
    card.open_button.click()
    assert window.banner.isVisible()
    assert "No application could open notes.xyz" in window.banner.text.text()


def test_dark_theme_reaches_lists_and_notices(qtbot, window):
    from ui.theme import apply_theme, qt_palette, read_palette

    def luminance(colour):
        def channel(c):
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        return (0.2126 * channel(colour.red()) + 0.7152 * channel(colour.green())
                + 0.0722 * channel(colour.blue()))

    for name in ("light", "dark"):
        palette = qt_palette(name)
        back, text = (luminance(palette.color(palette.ColorRole.ToolTipBase)),
                      luminance(palette.color(palette.ColorRole.ToolTipText)))
        assert (max(back, text) + 0.05) / (min(back, text) + 0.05) >= 4.5, name
    apply_theme(QGuiApplication.instance(), "dark")
    try:
        for key in ("knowledge", "adapters"):
            window.show_panel(key)
            panel = window.panel(key)
            wait_lanes(qtbot, window)
            image = panel.grab().toImage()
            middle = image.pixelColor(image.width() // 2, int(image.height() * 0.6))
            assert luminance(middle) < 0.05, (key, middle.name())
            assert middle.name() == read_palette("dark")["surface"]
    finally:
        apply_theme(QGuiApplication.instance(), "light")


def test_folder_picker_opens_at_home_and_indexing_shows_in_the_status_bar(
        qtbot, window, tmp_path, monkeypatch):
    docs = tmp_path / "notes"
    docs.mkdir()
    (docs / "paris.md").write_text("# Paris\n\nParis is the capital of France. " * 5)
    asked = []

    def pick(_parent, _title, folder=""):
        asked.append(folder)
        return str(docs)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", pick)
    window.show_panel("knowledge")
    panel = window.panel("knowledge")
    seen = []
    window.app.indexing_progress.connect(lambda text: seen.append(window.status_text.text()))
    panel.add_button.click()
    with qtbot.waitSignal(panel.indexed, timeout=60000):
        pass
    wait_lanes(qtbot, window)
    assert asked == [str(Path.home())]
    assert any(text.startswith("Indexing notes") for text in seen)
    # No "0 chunks · 0/s" while files are being read ("20/s" is a real rate, not a zero one).
    assert not any(re.search(r"(?<![\d.])0 chunks|(?<![\d.])0/s", text) for text in seen), seen
    qtbot.waitUntil(lambda: window.status_text.text() == "notes is indexed: 1 new.",
                    timeout=30000)


def test_incompatible_adapter_reason_is_plain(qtbot, window, chat_model_path, tmp_path):
    from assistant.bench.synthetic import write_lora, write_tiny_model
    from assistant.engine import read_gguf

    other = write_tiny_model(tmp_path / "other.gguf", embedding=32)
    folder = app_paths().adapters_dir
    folder.mkdir(parents=True, exist_ok=True)
    write_lora(folder / "for-another-model.gguf", read_gguf(other), name="other")
    window.show_panel("adapters")
    panel = window.panel("adapters")
    wait_lanes(qtbot, window)
    qtbot.waitUntil(lambda: bool(panel.rows) and hasattr(panel.rows[0], "info"), timeout=30000)
    reason = next(w for w in panel.rows[0].findChildren(QLabel) if w.objectName() == "Reason")
    assert "trained for a different model" in reason.text()
    assert "shapes" not in reason.text() and "shapes" in reason.toolTip()


def test_memory_chips_only_for_relevant_memories(qtbot, window):
    book = window.app.core.memory
    book.remember("I am allergic to peanuts")
    send(qtbot, window, "What is the capital of France?")
    wait_lanes(qtbot, window)
    assert not answers(window)[-1].chips_box.isVisibleTo(window)
    send(qtbot, window, "Can I eat this peanut butter sandwich?")
    wait_lanes(qtbot, window)
    chips = answers(window)[-1].chips_box
    assert chips.isVisibleTo(window) and "allergic to peanuts" in chips.text()


def test_export_and_import_a_chat_from_the_window(qtbot, window, tmp_path):
    send(qtbot, window, "Remember the espresso temperature")
    markdown, data = tmp_path / "chat.md", tmp_path / "chat.json"
    window.export_chat(str(markdown))
    window.export_chat(str(data))
    wait_lanes(qtbot, window)
    assert markdown.read_text().startswith("# Remember the espresso temperature")
    assert json.loads(data.read_text())["format"] == "loremind-chat"
    window.import_chat(str(data))
    wait_lanes(qtbot, window)
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 2, timeout=30000)


def test_chat_settings_dialog_is_stored_and_used(qtbot, window, tmp_path):
    from assistant.chat.chat_settings import KnowledgeScope
    from ui.chat_settings_dialog import ChatSettingsDialog

    send(qtbot, window, "Hello")
    qtbot.keySequence(window, QKeySequence("Ctrl+Shift+,"))
    dialog = window.findChild(ChatSettingsDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.system_prompt.setPlainText("Answer in French.")
    dialog.max_tokens.setValue(3)
    dialog.scope.button(2).setChecked(True)  # none
    dialog.save_button.click()
    wait_lanes(qtbot, window)
    stored = window.app.core.chat.get(window.chat.session.id).settings
    assert (stored.system_prompt, stored.max_tokens, stored.knowledge) == \
        ("Answer in French.", 3, KnowledgeScope.NONE)
    send(qtbot, window, "Again")
    assert answers(window)[-1].stats.text().startswith(("1 token ", "2 tokens", "3 tokens"))


def test_a_new_folder_shows_its_card_while_it_is_indexed(qtbot, window, tmp_path):
    import threading

    docs = tmp_path / "notes"
    docs.mkdir()
    (docs / "paris.md").write_text("# Paris\n\nParis is the capital of France.")
    window.show_panel("knowledge")
    panel = window.panel("knowledge")
    wait_lanes(qtbot, window)
    release = threading.Event()
    window.app.tasks.run("index", lambda: release.wait(30))  # indexing waits behind this
    try:
        panel.add_folder(str(docs))
        qtbot.waitUntil(lambda: len(panel.cards) == 1, timeout=30000)
        assert window.app.tasks.is_busy("index")
        # The status bar follows the job's own signal, which may come after the card's.
        qtbot.waitUntil(lambda: window.status_text.text().startswith("Indexing notes"),
                        timeout=10000)
    finally:
        release.set()
    wait_lanes(qtbot, window, 60000)
