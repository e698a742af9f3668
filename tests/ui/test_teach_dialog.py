"""The Teach dialog on the tiny model: preview, train in a worker process with a loss plot, the
adapter and its card in the Adapters panel; cancel; bad data refused in the dialog."""

from __future__ import annotations

import json

import pytest

from assistant.paths import app_paths
from tests.ui.helpers import wait_lanes

pytestmark = pytest.mark.gui



def pairs_file(tmp_path, n=12, broken=False):
    path = tmp_path / "pairs.jsonl"
    lines = [json.dumps({"prompt": f"the cat {i}", "response": "hello world"}) for i in range(n)]
    if broken:
        lines.insert(3, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def open_dialog(qtbot, window, path, name, steps):
    window.show_panel("adapters")
    panel = window.panel("adapters")
    wait_lanes(qtbot, window)
    panel.teach_button.click()
    dialog = panel.teach_dialog
    dialog.name.setText(name)
    dialog.kinds["pairs"].setChecked(True)
    dialog.path.setText(str(path))
    dialog.steps.setValue(steps)
    dialog.rank.setValue(4)
    dialog.lr.setValue(0.01)
    dialog.preview_button.click()
    return panel, dialog


def test_teach_previews_trains_and_shows_the_card(qtbot, window, tmp_path):
    panel, dialog = open_dialog(qtbot, window, pairs_file(tmp_path), "taught", 8)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=30000)
    assert "12 examples (1 held out" in dialog.preview.toPlainText()
    assert "→ hello world" in dialog.preview.toPlainText()
    with qtbot.waitSignal(dialog.trained, timeout=180000) as trained:
        dialog.start_button.click()
    card = trained.args[0]
    assert [step for step, _ in dialog.plot.points] == list(range(1, 9))
    assert dialog.progress.value() == 8
    assert card["heldout_loss_after"] < card["heldout_loss_before"]
    assert "held-out loss (llama.cpp)" in dialog.preview.toPlainText()
    folder = app_paths().adapters_dir
    assert sorted(p.name for p in folder.iterdir()) == ["taught.card.json", "taught.gguf"]
    # The panel follows the core's change and shows the card on the new adapter's row.
    qtbot.waitUntil(lambda: any(getattr(r, "card_text", "") for r in panel.rows), timeout=30000)
    row = next(r for r in panel.rows if getattr(r, "card_text", ""))
    assert row.info.name == "taught" and row.info.compatible
    assert "pairs.jsonl" in row.card_text
    dialog.close()


def test_cancel_stops_training_and_writes_nothing(qtbot, window, tmp_path):
    _panel, dialog = open_dialog(qtbot, window, pairs_file(tmp_path), "stopped", 5000)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=30000)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: len(dialog.plot.points) > 0, timeout=120000)
    with qtbot.waitSignal(dialog.ended, timeout=60000) as ended:
        dialog.cancel_button.click()
    assert "cancelled; no adapter was written" in ended.args[0]
    assert "cancelled" in dialog.status.text()
    folder = app_paths().adapters_dir
    assert [p.name for p in folder.iterdir()] == []
    dialog.close()


def test_broken_pairs_are_refused_before_training(qtbot, window, tmp_path):
    _panel, dialog = open_dialog(qtbot, window, pairs_file(tmp_path, broken=True), "x", 5)
    qtbot.waitUntil(lambda: "broken line" in dialog.status.text(), timeout=30000)
    assert "line 4: not JSON" in dialog.status.text()
    assert not dialog.start_button.isEnabled()
    dialog.close()


def test_an_answer_rewritten_by_the_user_is_kept_as_an_example(qtbot, window, monkeypatch):
    from assistant.training.chat_examples import ChatExamples
    from ui.message_widgets import AssistantMessage
    from ui.qt import Qt
    from ui.teach_examples import ExampleEditor

    window.chat.composer.edit.setPlainText("the cat")
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    wait_lanes(qtbot, window)
    answer = [t for t in window.chat._turns if isinstance(t, AssistantMessage)][-1]
    qtbot.waitUntil(lambda: bool(answer.message_id), timeout=30000)
    monkeypatch.setattr(ExampleEditor, "ask", lambda *args: "Ahoy! My own answer.")
    answer.example_button.click()
    wait_lanes(qtbot, window)
    examples = ChatExamples.in_data_dir(app_paths().data_dir).all()
    assert [(e.session_id, e.message_id, e.rewrite) for e in examples] == [
        (window.chat.session.id, answer.message_id, "Ahoy! My own answer.")]
    assert not answer.example_button.isEnabled()
