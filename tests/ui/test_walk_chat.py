"""What a walk through the chat found, in the real window: the chat list's highlight, an
answer's line breaks and paragraph spacing, the header at the smallest size, the status bar
while answering, what an answer shows before its text, its stats when reopened, the rename
field, and source passages."""

from __future__ import annotations

import re

import pytest

from assistant.chat.answering import AskOptions, TurnIds
from assistant.chat.chat_file import FORMAT, VERSION
from assistant.chat.events import AnswerStats, Citation, Done, Sources, Token
from assistant.core.answers import AnswerRun
from tests.ui.helpers import send, wait_lanes
from ui.message_widgets import AssistantMessage, SourceCard
from ui.qt import QInputDialog, QLineEdit, QMenu, Qt, QWidget

pytestmark = pytest.mark.gui

POEM = ("Roses are red,\nViolets are blue,\nSugar is sweet,\nAnd so are you.\n\n"
        "A second verse\nends the poem.")
VERSES = [line for line in POEM.splitlines() if line]


def answers(window):
    return [t for t in window.chat._turns if isinstance(t, AssistantMessage)]


def highlighted(window):
    """The ids of the chat list's highlighted rows, and of its current row."""
    chats = window.sidebar.list
    current = chats.currentItem()
    return ([item.data(Qt.ItemDataRole.UserRole) for item in chats.selectedItems()],
            current.data(Qt.ItemDataRole.UserRole) if current is not None else None)


def two_chats(qtbot, window):
    """Chat A, then chat B (shown); returns their ids once both are listed."""
    send(qtbot, window, "Espresso brewing temperature")
    first = window.chat.session.id
    window.new_chat()
    send(qtbot, window, "A question about cats")
    second = window.chat.session.id
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 2, timeout=30000)
    wait_lanes(qtbot, window)
    assert highlighted(window) == ([second], second)
    return first, second


def row_of(window, session_id):
    chats = window.sidebar.list
    return next(chats.item(r) for r in range(chats.count())
                if chats.item(r).data(Qt.ItemDataRole.UserRole) == session_id)


# -- 11: the highlight is the chat shown ---------------------------------------------------------

def test_clearing_a_search_highlights_the_chat_shown_again(qtbot, window):
    first, second = two_chats(qtbot, window)
    window.sidebar.search.setText("Espresso")  # only A by its title: B, shown, is not listed
    assert highlighted(window) == ([], None)
    window.sidebar.search.setText("")
    assert highlighted(window) == ([second], second)
    qtbot.wait(window.sidebar._search_timer.interval() + 100)  # a late content search
    wait_lanes(qtbot, window)
    assert highlighted(window) == ([second], second)


def test_renaming_another_chat_from_its_menu_keeps_the_highlight(qtbot, window, monkeypatch):
    first, second = two_chats(qtbot, window)
    chats = window.sidebar.list
    point = chats.visualItemRect(row_of(window, first)).center()
    qtbot.mouseClick(chats.viewport(), Qt.MouseButton.RightButton, pos=point)
    chats.customContextMenuRequested.emit(point)
    assert highlighted(window) == ([second], second)  # while the menu is open too
    menu = window.sidebar.findChildren(QMenu)[-1]
    next(a for a in menu.actions() if a.text() == "Rename…").trigger()
    menu.close()
    dialog = window.sidebar.findChildren(QInputDialog)[-1]
    dialog.setTextValue("Renamed first chat")
    dialog.accept()
    qtbot.waitUntil(lambda: row_of(window, first).text() == "Renamed first chat",
                    timeout=30000)
    wait_lanes(qtbot, window)
    assert window.chat.session.id == second
    assert highlighted(window) == ([second], second)


def test_undoing_a_delete_keeps_the_highlight_on_the_chat_shown(qtbot, window):
    first, second = two_chats(qtbot, window)
    window.sidebar.delete(first)
    qtbot.waitUntil(lambda: window.undo_bar.isVisible() and window.sidebar.list.count() == 1,
                    timeout=30000)
    window.undo_bar.undo_button.click()
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 2, timeout=30000)
    wait_lanes(qtbot, window)
    assert highlighted(window) == ([second], second)
    # The chat shown deleted: a new chat is shown, and the restored one is not highlighted.
    window.sidebar.delete(second)
    qtbot.waitUntil(lambda: window.chat.session.id != second and
                    window.sidebar.list.count() == 1, timeout=30000)
    window.undo_bar.undo_button.click()
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 2, timeout=30000)
    wait_lanes(qtbot, window)
    assert highlighted(window) == ([], None)


# -- 12, 18b: an answer streamed, finished and reopened ----------------------------------------

def stream(qtbot, window, events):
    """Show an answer whose events come from ``events`` (a real run, followed by the view);
    returns the bubble and the run."""
    run = AnswerRun(window.chat.session, "Write a poem", TurnIds(), AskOptions())
    window.chat._begin(lambda: run)
    answer = answers(window)[-1]
    for event in events:
        run.publish(event)
        qtbot.wait(70)  # the view renders a streaming answer every 50 ms
    return answer, run


def prose_document(answer):
    views = [w for _, w, _ in answer.body._pieces if hasattr(w, "document")]
    assert len(views) == 1
    return views[0].document()


def layout_of(document):
    """Each block's text and paragraph spacing."""
    blocks, block = [], document.begin()
    while block.isValid():
        form = block.blockFormat()
        blocks.append((block.text(), form.topMargin(), form.bottomMargin()))
        block = block.next()
    return blocks


def test_a_poem_keeps_its_lines_and_spacing_finished_and_reopened(qtbot, window, styled):
    tokens = [Token(POEM[start:start + 7]) for start in range(0, len(POEM), 7)]
    live, run = stream(qtbot, window, tokens)
    assert "\n".join(VERSES[:4]) in prose_document(live).toPlainText()  # while streaming
    run.publish(Done(POEM, AnswerStats(completion_tokens=30, seconds=1.0), run.ids.answer))
    run.end()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10000)
    finished = layout_of(prose_document(live))
    assert prose_document(live).toPlainText().split("\n") == VERSES
    assert len(finished) == 2  # two stanzas: paragraphs, the lines within them kept
    assert all(top > 0 and bottom > 0 for _, top, bottom in finished)  # stanzas apart

    stored = window.app.core.chat.import_({
        "format": FORMAT, "version": VERSION, "title": "A poem",
        "messages": [{"role": "user", "text": "Write a poem"},
                     {"role": "assistant", "text": POEM,
                      "stats": {"completion_tokens": 30, "seconds": 1.0}}]})
    window.open_chat(stored.id)
    qtbot.waitUntil(lambda: window.chat.session.id == stored.id and bool(answers(window)),
                    timeout=30000)
    reopened = answers(window)[-1]
    assert prose_document(reopened).toPlainText().split("\n") == VERSES
    assert layout_of(prose_document(reopened)) == finished


def test_sources_wait_for_the_text_and_copy_for_the_end(qtbot, window):
    citation = Citation(1, "/nowhere/guide.md", 0, "Setup", "How to set things up.", 0.9)
    answer, run = stream(qtbot, window, [Sources([citation])])
    assert answer.cards and answer.sources_panel.isHidden()
    assert answer.copy_button.isHidden() and answer.example_button.isHidden()
    run.publish(Token("The guide says [1]."))
    qtbot.waitUntil(lambda: answer.sources_panel.isVisibleTo(window), timeout=5000)
    assert answer.copy_button.isHidden()
    run.publish(Done("The guide says [1].", AnswerStats(completion_tokens=5, seconds=0.5),
                     run.ids.answer))
    run.end()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10000)
    assert answer.copy_button.isVisibleTo(window) and answer.example_button.isVisibleTo(window)


# -- 18c: the stats line of a reopened answer --------------------------------------------------

def test_stored_stats_read_as_the_live_ones(qtbot):
    line = []
    for stats in (AnswerStats(completion_tokens=4, seconds=0.5, engine="local"),
                  {"completion_tokens": 4, "seconds": 0.5, "engine": "local"}):
        message = AssistantMessage([])
        qtbot.addWidget(message)
        message.finish("Paris.", stats)
        line.append(message.stats.text())
    assert line[0] == line[1] and "local engine" in line[1]


def test_a_reopened_answer_names_its_engine_as_it_did_live(qtbot, window):
    send(qtbot, window, "Say something")
    live = answers(window)[-1].stats.text()
    assert "local engine" in live
    session_id = window.chat.session.id
    window.new_chat()
    window.open_chat(session_id)
    qtbot.waitUntil(lambda: window.chat.session.id == session_id and bool(answers(window)),
                    timeout=30000)
    # The same line but for the speed's last digit: the stored seconds are rounded to 1 ms.
    assert _without_speed(answers(window)[-1].stats.text()) == _without_speed(live)


def _without_speed(line: str) -> str:
    return re.sub(r"\d+ tok/s", "… tok/s", line)


# -- 14: the header at the smallest window size --------------------------------------------------

def test_the_header_keeps_one_line_at_the_smallest_size(qtbot, window, styled):
    send(qtbot, window, "Which of the many espresso machines on sale this year would you "
                        "recommend for a small office kitchen?")
    title = window.chat.session.title
    window.resize(965, 570)
    qtbot.waitUntil(lambda: window.width() <= 1000, timeout=5000)
    qtbot.wait(50)
    for line in (window.title, window.subtitle):
        assert line.height() < 2 * line.fontMetrics().height(), line.text()
        assert line.fontMetrics().horizontalAdvance(line.text()) <= line.contentsRect().width()
    assert window.title.text().endswith("…") and window.title.text() != title
    assert title.startswith(window.title.text()[:-1].rstrip())
    assert window.title.toolTip() == title
    window.resize(1900, 800)  # room again: the whole title, cut no more
    qtbot.waitUntil(lambda: window.title.text() == title, timeout=5000)
    assert window.title.toolTip() == ""


def test_a_narrow_window_with_a_panel_open_gives_the_chat_the_room(qtbot, window, styled):
    from ui.main_window import CHAT_MIN_WIDTH

    window.resize(965, 570)
    qtbot.waitUntil(lambda: window.width() <= 1000, timeout=5000)
    assert window.sidebar.isVisible()  # no panel: all the columns fit
    window.show_panel("memory")
    qtbot.waitUntil(lambda: not window.sidebar.isVisible(), timeout=5000)
    qtbot.wait(50)
    assert window.chat.width() >= CHAT_MIN_WIDTH
    window.show_panel(None)
    qtbot.waitUntil(window.sidebar.isVisible, timeout=5000)
    window.show_panel("memory")
    window.resize(1280, 800)  # a wider window has room for all three again
    qtbot.waitUntil(window.sidebar.isVisible, timeout=5000)


def test_the_chat_list_keeps_its_buttons_at_the_top_when_it_is_empty(qtbot, window, styled):
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: not window.sidebar.list.isVisible(), timeout=5000)
    qtbot.wait(50)
    top = window.sidebar.mapTo(window, window.sidebar.rect().topLeft()).y()
    button = window.sidebar.new_button.mapTo(window, window.sidebar.new_button.rect().topLeft())
    assert button.y() - top < 120  # just under the name, not spread down the sidebar
    assert window.sidebar.placeholder.y() - window.sidebar.search.y() < 120


# -- 18a: the status bar while the chat answers --------------------------------------------------

def test_the_status_bar_says_answering_until_the_answer_ends(qtbot, window):
    model = window.app.core.parts.model
    with model.lock:  # the answer waits until the checks below are done
        window.chat.composer.edit.setPlainText("Tell me something")
        qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
        assert window.chat.busy and window.status_text.text() == "Answering…"
        window.app.status.emit("Ready", False)  # e.g. a folder finished indexing
        assert window.status_text.text() == "Answering…"
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=30000)
    assert window.status_text.text() == "Ready"


# -- 18d: the rename field -----------------------------------------------------------------------

@pytest.mark.parametrize("title", ["Short", "A rather long chat title about espresso machines "
                                            "for the office"])
def test_the_rename_field_shows_the_whole_title(qtbot, window, styled, title):
    window.sidebar.rename("some-id", title)
    dialog = window.sidebar.findChildren(QInputDialog)[-1]
    qtbot.waitExposed(dialog)
    field = dialog.findChild(QLineEdit)
    assert dialog.width() >= 420
    assert field.width() >= field.fontMetrics().horizontalAdvance(title) + 8
    dialog.reject()


# -- 18g: source passages ----------------------------------------------------------------------

def test_a_source_passage_is_cut_at_a_word_and_can_be_expanded(qtbot):
    passage = ("To publish the package, call a registry client with your token; " * 6).strip()
    parent = QWidget()
    qtbot.addWidget(parent)
    card = SourceCard({"number": 1, "path": "/nowhere/notes.md", "text": passage}, [])
    card.setParent(parent)
    parent.show()
    short = card.snippet.text()
    assert short.endswith("…") and passage.startswith(short[:-1])
    assert passage[len(short) - 1] in " ,;"  # cut after a whole word, not in "regis…"
    assert card.more_button.isVisibleTo(parent) and card.more_button.text() == "More"
    qtbot.mouseClick(card.more_button, Qt.MouseButton.LeftButton)
    assert card.snippet.text() == passage and card.more_button.text() == "Less"
    qtbot.mouseClick(card.more_button, Qt.MouseButton.LeftButton)
    assert card.snippet.text() == short
    whole = SourceCard({"number": 2, "path": "/nowhere/a.md", "text": "A short passage."}, [])
    whole.setParent(parent)
    assert whole.snippet.text() == "A short passage." and whole.more_button.isHidden()
