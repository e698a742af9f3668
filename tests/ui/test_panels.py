"""The side panels and the settings dialog, driven through their widgets."""

from __future__ import annotations

import pytest

from assistant.bench.synthetic import write_lora
from assistant.config import load_settings
from assistant.paths import app_paths
from tests.ui.helpers import send, wait_lanes
from ui.message_widgets import AssistantMessage, ProposalCard
from ui.qt import QFileDialog, QKeySequence, QMessageBox, Qt

pytestmark = pytest.mark.gui




def test_adapter_toggle_is_saved_with_the_chat_and_applied(qtbot, window, chat_model_path):
    from assistant.engine import read_gguf

    folder = app_paths().adapters_dir
    folder.mkdir(parents=True, exist_ok=True)
    base = read_gguf(chat_model_path)
    write_lora(folder / "style.gguf", base, name="style")
    (folder / "notes.safetensors").write_bytes(b"not gguf")
    window.show_panel("adapters")
    panel = window.panel("adapters")
    wait_lanes(qtbot, window)
    rows = {row.info.path.name: row for row in panel.rows}
    assert set(rows) == {"style.gguf", "notes.safetensors"}
    bad = rows["notes.safetensors"]
    assert not bad.check.isEnabled() and "convert" in bad.info.reason
    send(qtbot, window, "First message")
    good = {row.info.path.name: row for row in panel.rows}["style.gguf"]
    good.slider.setValue(50)
    good.check.setChecked(True)
    wait_lanes(qtbot, window)
    session = window.chat.session
    assert [(a["name"], a["scale"]) for a in session.adapters] == [("style", 0.5)]
    stored = window.app.core.chat.get(session.id)
    assert [a["name"] for a in stored.adapters] == ["style"]
    assert "style×0.5" in window.header_text(window.subtitle)
    send(qtbot, window, "Second message")
    answer = [t for t in window.chat._turns if isinstance(t, AssistantMessage)][-1]
    assert "adapters: style×0.5" in answer.stats.text()


def test_add_a_folder_and_see_it_indexed(qtbot, window, tmp_path, monkeypatch):
    docs = tmp_path / "notes"
    docs.mkdir()
    (docs / "paris.md").write_text("# Paris\n\nParis is the capital of France. " * 5)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(docs))
    window.show_panel("knowledge")
    panel = window.panel("knowledge")
    panel.add_button.click()
    with qtbot.waitSignal(panel.indexed, timeout=60000):
        pass
    wait_lanes(qtbot, window)
    qtbot.waitUntil(lambda: len(panel.cards) == 1, timeout=30000)
    card_text = " ".join(w.text() for w in panel.cards[0].findChildren(type(window.title)))
    assert "1 indexed" in card_text and "1 failed" in card_text
    problems = [panel.problems.item(i).text() for i in range(panel.problems.count())]
    assert any(p.startswith("broken.pdf") for p in problems)
    assert load_settings(app_paths().config_file).knowledge.folders == [str(docs.resolve())]
    send(qtbot, window, "What is the capital of France?")
    answer = [t for t in window.chat._turns if isinstance(t, AssistantMessage)][-1]
    assert answer.cards, "the answer shows its sources"
    card = next(iter(answer.cards.values()))
    opened = []
    monkeypatch.setattr("ui.message_widgets.QDesktopServices.openUrl",
                        lambda url: opened.append(url.toLocalFile()))
    card.open_button.click()
    assert opened == [str(docs.resolve() / "paris.md")]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args[2])
                        or QMessageBox.StandardButton.Yes)
    panel.cards[0].remove_button.click()
    wait_lanes(qtbot, window)
    assert asked and "files in the folder are not touched" in asked[0]
    assert load_settings(app_paths().config_file).knowledge.folders == []


def test_approve_a_proposed_memory_inline(qtbot, window):
    send(qtbot, window, "I like green tea")
    book = window.app.core.parts.memory  # the tiny model proposes nothing: propose as it would
    pending = book.propose("The user likes green tea", session_id=window.chat.session.id)
    answer = [t for t in window.chat._turns if isinstance(t, AssistantMessage)][-1]
    answer.add_proposal(pending)  # as the answer's MemoryProposed event would
    card = answer.findChild(ProposalCard)
    assert card is not None
    card.approve_button.click()
    wait_lanes(qtbot, window)
    assert book.get(pending.id).status == "active"
    window.show_panel("memory")
    panel = window.panel("memory")
    wait_lanes(qtbot, window)
    assert [m.text for m in panel.memories] == ["The user likes green tea"]


def test_memory_panel_edit_forget_restore_pause(qtbot, window):
    book = window.app.core.memory
    window.show_panel("memory")
    panel = window.panel("memory")
    panel.add_box.setText("I prefer metric units")
    qtbot.keyClick(panel.add_box, Qt.Key.Key_Return)
    wait_lanes(qtbot, window)
    panel.list.setCurrentRow(0)
    panel.editor.setPlainText("I prefer SI units")
    panel.save_button.click()
    wait_lanes(qtbot, window)
    memory = book.list()[0]
    assert memory.text == "I prefer SI units"
    panel.select(memory.id)
    panel.forget_button.click()
    wait_lanes(qtbot, window)
    assert book.list() == []
    panel.status.setCurrentIndex(panel.status.findData("forgotten"))
    wait_lanes(qtbot, window)
    panel.select(memory.id)
    wait_lanes(qtbot, window)
    assert panel.history.count() >= 3
    panel.restore_button.click()
    wait_lanes(qtbot, window)
    assert book.get(memory.id).status == "active"
    panel.pause_button.click()
    wait_lanes(qtbot, window)
    assert book.paused


def test_settings_are_validated_and_persisted(qtbot, window, tmp_path):
    from ui.settings_dialog import SettingsDialog

    qtbot.keySequence(window, QKeySequence("Ctrl+,"))
    dialog = window.findChild(SettingsDialog)
    assert dialog is not None and dialog.isVisible()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    dialog.model_path.setText(str(bad))
    dialog.validate_model()
    qtbot.waitUntil(lambda: dialog.model_status.text().startswith("✗"), timeout=30000)
    assert not dialog.save_button.isEnabled()
    dialog.model_path.setText("")
    dialog.validate_model()
    assert dialog.save_button.isEnabled()
    dialog.temperature.setValue(0.7)
    dialog.memory_mode.setCurrentIndex(dialog.memory_mode.findData("auto"))
    dialog.appearance.setCurrentIndex(dialog.appearance.findData("dark"))
    dialog.context_size.setValue(2048)
    dialog.save_button.click()
    saved = load_settings(app_paths().config_file)
    assert saved.generation.temperature == pytest.approx(0.7)
    assert saved.memory.mode == "auto"
    assert saved.ui.appearance == "dark"
    assert window.app.core.current_settings.memory.mode == "auto"


def test_open_panels_follow_changes_made_elsewhere(qtbot, window, chat_model_path, tmp_path):
    """With the Memory and Adapters panels open, a proposal approved in the chat and an adapter
    file copied into the adapters folder appear in them without reopening anything."""
    import shutil

    from assistant.engine import read_gguf
    from ui.panels.adapters import AdapterRow

    window.app.watch_folders = True  # the fixture's app starts without watchers
    window.app.start_watching()  # as at start-up: the watched and the adapter folders
    window.show_panel("memory")
    memory_panel = window.panel("memory")
    window.show_panel("adapters")
    adapters_panel = window.panel("adapters")
    wait_lanes(qtbot, window)
    assert memory_panel.memories == [] and adapters_panel._adapters == []

    send(qtbot, window, "I drink green tea every morning")
    pending = window.app.core.parts.memory.propose(  # what the extractor proposes from it
        "The user drinks green tea every morning", session_id=window.chat.session.id)
    answer = [t for t in window.chat._turns if isinstance(t, AssistantMessage)][-1]
    answer.add_proposal(pending)  # as the answer's MemoryProposed event would
    answer.findChild(ProposalCard).approve_button.click()
    qtbot.waitUntil(lambda: [m.text for m in memory_panel.memories]
                    == ["The user drinks green tea every morning"], timeout=30000)

    made = tmp_path / "style.gguf"
    write_lora(made, read_gguf(chat_model_path), name="style")
    shutil.copy(made, app_paths().adapters_dir / "style.gguf")
    qtbot.waitUntil(lambda: [r.info.name for r in adapters_panel.rows
                             if isinstance(r, AdapterRow)] == ["style"], timeout=30000)
    assert window.panels.currentWidget() is adapters_panel  # nothing was reopened


def test_indexing_stops_from_the_knowledge_panel(qtbot, window, tmp_path):
    from tests.core.test_core import write_notes
    from tests.knowledge.helpers import assert_consistent

    docs = tmp_path / "many"
    write_notes(docs, 1500)
    window.show_panel("knowledge")
    panel = window.panel("knowledge")
    panel.add_folder(str(docs))

    def committed() -> bool:  # some passages are stored (a batch committed), more files wait
        return any(job.progress is not None and job.progress.chunks_done
                   for job in window.app.core.knowledge.indexing_jobs())

    qtbot.waitUntil(lambda: panel.cancel_button.isVisible() and committed(), timeout=60000)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.cancel_button.text() == "Stopping…" and not panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.indexed, timeout=60000):
        pass
    wait_lanes(qtbot, window)
    assert "stopped" in window.status_text.text()
    assert not panel.cancel_button.isVisible()
    store = window.app.core.parts.store
    assert 0 < store.count("documents", "status = 'indexed'") < 1500
    assert_consistent(store)
    card_text = " ".join(w.text() for w in panel.cards[0].findChildren(type(window.title)))
    assert "indexed" in card_text  # the panel shows what was kept


def test_memory_panel_export_and_import_check_the_file(qtbot, window, tmp_path, monkeypatch,
                                                       errors):
    book = window.app.core.memory
    book.remember("I keep bees")
    window.show_panel("memory")
    panel = window.panel("memory")
    chosen: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (chosen[-1], ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen[-1], ""))
    chosen.append(str(tmp_path))  # a folder, not a file
    panel.export_button.click()
    wait_lanes(qtbot, window)
    assert errors and "is a folder" in errors[-1]
    chosen.append(str(tmp_path / "memories.json"))
    panel.export_button.click()
    wait_lanes(qtbot, window)
    assert "I keep bees" in (tmp_path / "memories.json").read_text()
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    chosen.append(str(deep))
    panel.import_button.click()
    wait_lanes(qtbot, window)
    assert "nests more than 64 levels deep" in errors[-1]
    book.forget(book.list()[0].id, permanent=True)
    chosen.append(str(tmp_path / "memories.json"))
    panel.import_button.click()
    wait_lanes(qtbot, window)
    assert [m.text for m in book.list()] == ["I keep bees"]
