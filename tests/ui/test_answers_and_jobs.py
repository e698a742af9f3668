"""The window on the core's own work: an answer belongs to its chat, a folder removed while it
indexes leaves nothing behind, the chat list says when it is loading, and a read-only library
makes chats temporary with a notice."""

from __future__ import annotations

import pytest

from tests.ui.helpers import wait_lanes
from ui.message_widgets import AssistantMessage, UserMessage
from ui.qt import QMessageBox, Qt

pytestmark = pytest.mark.gui


def send(qtbot, window, text):
    edit = window.chat.composer.edit
    edit.setPlainText(text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def answers(window):
    return [t for t in window.chat._turns if isinstance(t, AssistantMessage)]


def sidebar_texts(window):
    listed = window.sidebar.list
    return [listed.item(i).text() for i in range(listed.count())]


def test_an_answer_goes_on_in_its_chat_while_another_is_shown(qtbot, window, settings):
    settings.generation.max_tokens = 400  # long enough to switch away before it ends
    send(qtbot, window, "Tell me about the lighthouse")
    qtbot.waitUntil(lambda: bool(answers(window) and answers(window)[-1].text), timeout=30000)
    first = window.chat.session
    window.new_chat()
    assert window.chat.session is not first and not window.chat.busy
    assert window.chat.composer.edit.isEnabled()
    # The chat list says which chat is answering.
    qtbot.waitUntil(lambda: any(t.endswith("· answering…") for t in sidebar_texts(window)),
                    timeout=30000)
    # Back in the chat while it answers: its answer so far, still streaming.
    window.sidebar.list.itemClicked.emit(window.sidebar.list.item(0))
    qtbot.waitUntil(lambda: window.chat.session is first, timeout=30000)
    if window.app.core.chat.running(first.id) is not None:
        assert window.chat.busy
    qtbot.waitUntil(lambda: not window.app.core.chat.answering(), timeout=120000)
    wait_lanes(qtbot, window)
    assert [type(t) for t in window.chat._turns] == [UserMessage, AssistantMessage]
    stored = window.app.core.chat.get(first.id)
    assert [m.role for m in stored.messages] == ["user", "assistant"]
    assert stored.messages[1].text and answers(window)[-1].text.strip() == stored.messages[1].text
    # The chat list hears that the answer ended through the core's change feed, a moment later.
    qtbot.waitUntil(lambda: not any("answering" in t for t in sidebar_texts(window)),
                    timeout=10000)


def test_removing_a_folder_while_it_indexes_leaves_no_row_of_it(qtbot, window, tmp_path,
                                                                monkeypatch):
    from tests.core.test_knowledge_jobs import write_manual

    docs = tmp_path / "manuals"
    docs.mkdir()
    for n in range(40):
        write_manual(docs / f"manual-{n:02}.txt", 4_000)
    write_manual(docs / "big.txt", 600_000)
    window.show_panel("knowledge")
    panel = window.panel("knowledge")
    panel.add_folder(str(docs))
    qtbot.waitUntil(lambda: any(job.progress is not None and job.progress.chunks_done
                                for job in window.app.core.knowledge.indexing_jobs()),
                    timeout=60000)  # inside the folder: some passages are stored
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    panel.remove_folder(str(docs.resolve()))
    qtbot.waitUntil(lambda: not panel.cards and "Removed" in window.status_text.text(),
                    timeout=30000)
    wait_lanes(qtbot, window)
    store = window.app.core.parts.store
    assert store.count("documents", f"folder = '{docs.resolve()}'") == 0
    assert store.count("chunks", f"folder = '{docs.resolve()}'") == 0
    assert window.app.core.knowledge.folders == []
    assert window.undo_bar.isVisible() and "Removed" in window.undo_bar.text.text()


def test_removing_a_folder_asks_first(qtbot, window, tmp_path, monkeypatch):
    docs = tmp_path / "notes"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nSome text about apples.")
    window.show_panel("knowledge")
    panel = window.panel("knowledge")
    panel.add_folder(str(docs))
    qtbot.waitUntil(lambda: len(panel.cards) == 1, timeout=30000)
    wait_lanes(qtbot, window)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Cancel)
    panel.remove_folder(str(docs.resolve()))
    wait_lanes(qtbot, window)
    assert window.app.core.knowledge.folders == [str(docs.resolve())]


def test_the_chat_list_says_it_is_loading_until_the_chats_are_read(qtbot, app):
    from ui.main_window import MainWindow

    main = MainWindow(app)
    qtbot.addWidget(main)
    assert main.sidebar.placeholder.text() == "Loading your chats…"
    assert main.sidebar.placeholder.isVisibleTo(main)
    with qtbot.waitSignal(app.ready, timeout=30000):
        app.start()
    qtbot.waitUntil(lambda: "No chats yet" in main.sidebar.placeholder.text(), timeout=30000)


def test_a_chat_on_a_read_only_library_is_temporary_and_says_so(qtbot, window):
    store = window.app.core.parts.store
    store.open_read_only("The shared library at s3://library/team is written by another "
                         "machine; this machine only reads it.")
    send(qtbot, window, "Hello there")
    wait_lanes(qtbot, window)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=30000)
    answer = answers(window)[-1]
    notices = " ".join(label.text() for label in answer.findChildren(type(window.title)))
    assert "This chat is temporary" in notices
    assert window.chat.session.temporary
    assert "Temporary" in window.subtitle.text()
    assert window.app.core.chat.list() == []
