"""Issue 22's walk through the Knowledge and Adapters panels and the Teach dialog: what the
"Not indexed" list says with no folder and after a stop, what a re-index reports, deleting an
adapter, and the Teach dialog's progress bar, loss chart, counts, freshness and example editor."""

from __future__ import annotations

import sys
import threading

import pytest

from assistant.bench.synthetic import write_lora
from assistant.engine import read_gguf
from assistant.paths import app_paths
from assistant.training.card import card_path, write_card
from tests.core.test_core import write_notes
from tests.ui.helpers import send, wait_lanes
from ui.qt import QDialog, QMessageBox, QPlainTextEdit, QProcess, Qt

pytestmark = pytest.mark.gui

NOTES = 200
REWRITE = " ".join(["A rewrite long enough to need wrapping in the editor."] * 8)


def problem_lines(panel) -> list[str]:
    return [panel.problems.item(i).text() for i in range(panel.problems.count())]


def test_not_indexed_says_what_waits_and_a_reindex_says_what_it_did(qtbot, window, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setattr("assistant.knowledge.indexer.BATCH_CHUNKS", 4)
    window.show_panel("knowledge")
    panel = window.panel("knowledge")
    wait_lanes(qtbot, window)
    assert problem_lines(panel)[0].startswith("No folders yet")

    docs = tmp_path / "many"
    write_notes(docs, NOTES)
    knowledge = window.app.core.knowledge
    panel.add_folder(str(docs))

    def committed() -> bool:  # some notes are stored, most wait
        return any(job.progress is not None and job.progress.chunks_done >= 8
                   for job in knowledge.indexing_jobs())

    qtbot.waitUntil(lambda: panel.cancel_button.isVisible() and committed(), timeout=60000)
    with qtbot.waitSignal(panel.indexed, timeout=60000):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    wait_lanes(qtbot, window)
    [overview] = knowledge.overview()
    waiting = NOTES - overview.indexed
    assert 0 < overview.indexed and overview.pending == waiting
    qtbot.waitUntil(lambda: bool(panel.cards) and panel.cards[0].reindex_button.isEnabled())
    assert problem_lines(panel) == [
        f"{waiting} files of many not indexed yet (indexing was stopped): re-index the "
        "folder, or they follow at its next sync."]
    status = window.status_text.text()
    assert "Indexing of many stopped" in status and f"{waiting} files not indexed yet" in status
    card_text = " ".join(w.text() for w in panel.cards[0].findChildren(type(window.title)))
    assert f"{waiting} not indexed yet" in card_text

    # The background lane is held, so the re-index waits in the queue: the folder is busy.
    hold = threading.Event()
    knowledge_lane = window.app.core.scheduler.submit(hold.wait, owner="test", title="Holding")
    try:
        panel.cards[0].reindex_button.click()
        assert not panel.cards[0].reindex_button.isEnabled()
        qtbot.waitUntil(lambda: problem_lines(panel) == [
            f"{waiting} files of many waiting to be indexed"], timeout=10000)
        assert not panel.cards[0].reindex_button.isEnabled()
    finally:
        hold.set()
    knowledge_lane.wait(10)
    with qtbot.waitSignal(panel.indexed, timeout=120000):
        pass
    wait_lanes(qtbot, window)
    assert window.status_text.text() == \
        f"many is indexed: {waiting} new ({NOTES - waiting} unchanged)."
    qtbot.waitUntil(lambda: problem_lines(panel) == ["Every file was indexed."])
    assert panel.cards[0].reindex_button.isEnabled()

    with qtbot.waitSignal(panel.indexed, timeout=60000):
        panel.cards[0].reindex_button.click()
    wait_lanes(qtbot, window)
    assert window.status_text.text() == f"many is up to date: {NOTES} files unchanged."


def test_an_adapter_is_deleted_from_its_row_after_asking(qtbot, window, chat_model_path,
                                                         monkeypatch):
    folder = app_paths().adapters_dir
    folder.mkdir(parents=True, exist_ok=True)
    style = write_lora(folder / "style.gguf", read_gguf(chat_model_path), name="style")
    write_card(card_path(style), {"data": {"counts": {"examples": 1}}})
    send(qtbot, window, "First message")
    window.show_panel("adapters")
    panel = window.panel("adapters")
    wait_lanes(qtbot, window)
    [row] = panel.rows
    assert "Trained here on 1 example" in " ".join(
        w.text() for w in row.findChildren(type(window.title)))
    row.check.setChecked(True)
    wait_lanes(qtbot, window)
    assert [a["name"] for a in window.chat.session.adapters] == ["style"]

    asked = []
    answer = QMessageBox.StandardButton.Cancel
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or answer)
    row.delete_button.click()
    wait_lanes(qtbot, window)
    assert style.exists() and "style" in asked[-1]  # cancelled: nothing deleted

    answer = QMessageBox.StandardButton.Yes
    panel.rows[0].delete_button.click()
    wait_lanes(qtbot, window)
    assert not style.exists() and not card_path(style).exists()
    assert window.status_text.text() == "Deleted the adapter “style”."
    qtbot.waitUntil(lambda: not any(hasattr(r, "info") for r in panel.rows), timeout=10000)
    assert window.chat.session.adapters == []  # the chat on screen goes on without it
    stored = window.app.core.chat.get(window.chat.session.id)
    assert stored.adapters == []


def test_the_teach_dialog_shows_steps_axes_and_opens_fresh(qtbot, window):
    window.show_panel("adapters")
    panel = window.panel("adapters")
    wait_lanes(qtbot, window)
    panel.teach_button.click()
    dialog = panel.teach_dialog
    # The step is said in the status line; the 6 px bar shows no text to clip.
    dialog.progress.setRange(0, 10)
    dialog._show({"event": "step", "step": 3, "steps": 10, "loss": 2.0, "tokens_per_s": 90.0,
                  "seconds_left": 5.0})
    assert not dialog.progress.isTextVisible() and dialog.progress.value() == 3
    assert dialog.status.text().startswith("Step 3 of 10")

    plot = dialog.plot
    for step, loss in ((4, 1.5), (5, 0.5)):
        plot.add(step, loss)
    plot.resize(400, 140)
    assert plot.ticks() == (("3", "5"), ("0.5", "2"))
    area = plot.plot_area()
    metrics = plot.fontMetrics()
    assert area.left() > metrics.horizontalAdvance("loss") and \
        area.bottom() + metrics.height() < plot.height()  # room for the labels
    image = plot.grab().toImage()
    background = image.pixelColor(plot.width() // 2, 3)
    assert image.pixelColor(area.left(), area.center().y()) != background  # the loss axis
    assert image.pixelColor(area.center().x(), area.bottom()) != background  # the step axis

    dialog.name.setText("first")
    dialog.preview.setPlainText("the last run's card")
    dialog.close()
    panel.teach_button.click()
    fresh = panel.teach_dialog
    assert fresh is not dialog and fresh.isVisible()
    assert fresh.name.text() == "" and fresh.preview.toPlainText() == ""
    assert fresh.plot.points == [] and not fresh.progress.isVisible()

    fresh.name.setText("running")
    panel.teach_button.click()  # open: the same one
    assert panel.teach_dialog is fresh
    worker = QProcess(fresh)  # stands in for a training worker
    worker.start(sys.executable, ["-c", "import time; time.sleep(60)"])
    assert worker.waitForStarted(10000)
    fresh.process = worker
    fresh.hide()
    panel.teach_button.click()  # training: that run is shown again
    assert panel.teach_dialog is fresh and fresh.isVisible() and fresh.name.text() == "running"
    fresh.close()  # closing stops the worker
    assert worker.state() == QProcess.ProcessState.NotRunning


def test_the_example_editor_wraps_lines(qtbot, window, monkeypatch):
    from assistant.training.chat_examples import ChatExamples
    from ui.message_widgets import AssistantMessage
    from ui.teach_examples import ExampleEditor

    send(qtbot, window, "the cat")
    answer = [t for t in window.chat._turns if isinstance(t, AssistantMessage)][-1]
    qtbot.waitUntil(lambda: bool(answer.message_id), timeout=30000)
    shown = []

    def exec_(editor):
        shown.append(editor)
        assert isinstance(editor.text, QPlainTextEdit)
        assert editor.text.lineWrapMode() == QPlainTextEdit.LineWrapMode.WidgetWidth
        assert editor.text.toPlainText() == answer.text
        editor.text.setPlainText(REWRITE)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExampleEditor, "exec", exec_)
    answer.example_button.click()
    wait_lanes(qtbot, window)
    assert len(shown) == 1
    [example] = ChatExamples.in_data_dir(app_paths().data_dir).all()
    assert example.rewrite == REWRITE
