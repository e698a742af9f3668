"""What a walk through the Models page, the first-run screen and the model settings found: a
base model's missing chat template said everywhere, the way back to the built-in demo model, the
check line following the typed path, what deleting an import does, the list keeping its place,
its buttons at the smallest window, and the welcome screen's height after a failed download."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.bench.synthetic import write_tiny_model
from assistant.bench.synthetic_retrieval import write_tiny_reranker
from assistant.config import load_settings
from assistant.defaults import CHAT_MODEL_FILE
from assistant.paths import app_paths
from tests.models.conftest import closed_port_url, file_keyring
from tests.ui.helpers import wait_lanes
from tests.ui.layout_checks import cut_texts
from ui.qt import QMessageBox, Qt

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("file_keyring")]
__all__ = ["file_keyring"]  # the page asks whether a token is stored: never the real keyring
WAIT_MS = 30000


@pytest.fixture
def base_model(tmp_path):
    """A model file without a chat template, as a base (not instruction-tuned) model is."""
    return write_tiny_model(tmp_path / "base-270m.gguf", chat_template=None)


@pytest.fixture
def asked(monkeypatch):
    """Questions put to the user (the modal box is patched); ``answer`` is what they reply."""
    questions = SimpleNamespace(texts=[], answer=QMessageBox.StandardButton.No)

    def question(_parent, _title, text, *_args, **_kwargs):
        questions.texts.append(text)
        return questions.answer

    monkeypatch.setattr(QMessageBox, "question", question)
    return questions


def models_page(qtbot, window):
    window.show_panel("models")
    page = window.panel("models")
    qtbot.waitUntil(lambda: "builtin" in page.cards, timeout=WAIT_MS)
    return page


def wait_for_card(qtbot, page, name, ready=lambda card: True):
    qtbot.waitUntil(lambda: name in page.cards and ready(page.cards[name]), timeout=WAIT_MS)
    return page.cards[name]


# -- a model without a chat template ---------------------------------------------------------


def test_the_models_page_names_a_base_model(qtbot, window, base_model, tiny_model_path):
    manager = window.app.core.models.manager
    manager.import_file(base_model, "base")
    manager.import_file(tiny_model_path, "chat")
    page = models_page(qtbot, window)
    page.refresh()
    base = wait_for_card(qtbot, page, "base")
    note = window.app.core.models.template_note(base_model)
    assert "no chat template" in note and "probably a base model" in note
    assert base.template_note.isVisibleTo(page) and base.template_note.text() == note
    chat = wait_for_card(qtbot, page, "chat")
    assert not chat.template_note.isVisibleTo(page)


def test_the_settings_check_line_names_a_base_model(qtbot, app, base_model):
    from ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(app)
    qtbot.addWidget(dialog)
    dialog.model_path.setText(str(base_model))  # typed or pasted: no editingFinished
    qtbot.waitUntil(lambda: dialog.model_status.text().startswith("✓"), timeout=WAIT_MS)
    assert app.core.models.template_note(base_model) in dialog.model_status.text()
    assert dialog.save_button.isEnabled()  # usable, only warned about


def test_the_first_run_screen_warns_before_using_a_base_model(qtbot, app, base_model, asked,
                                                              monkeypatch):
    from ui import first_run

    app.start()
    qtbot.waitUntil(lambda: app.is_ready, timeout=WAIT_MS)
    dialog = first_run.maybe_show_first_run(app)
    assert dialog is not None
    qtbot.addWidget(dialog)
    monkeypatch.setattr(first_run.QFileDialog, "getOpenFileName",  # the modal picker
                        lambda *_a, **_k: (str(base_model), "GGUF models (*.gguf)"))
    dialog.choose_file.click()
    qtbot.waitUntil(lambda: bool(asked.texts), timeout=WAIT_MS)
    assert app.core.models.template_note(base_model) in asked.texts[0]
    wait_lanes(qtbot, SimpleNamespace(app=app))
    assert dialog.isVisible() and app.core.models.manager.installed() == []  # declined
    asked.answer = QMessageBox.StandardButton.Yes
    dialog.choose_file.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: app.core.models.loaded_name == base_model.name, timeout=WAIT_MS)


# -- the built-in demo model and the settings' model path -------------------------------------


def test_the_built_in_model_has_a_card_that_switches_back_to_it(qtbot, window, tiny_model_path):
    app = window.app
    manager = app.core.models.manager
    page = models_page(qtbot, window)
    builtin = page.cards["builtin"]
    assert builtin.row.in_use and "built in, always available" in builtin.facts.text()
    assert not builtin.delete.isVisibleTo(page) and not builtin.settings.isVisibleTo(page)
    app.update_settings(manager.settings_using(manager.import_file(tiny_model_path).path))
    builtin = wait_for_card(qtbot, page, "builtin", lambda card: not card.row.in_use)
    assert builtin.use.isVisibleTo(page)
    builtin.use.click()
    qtbot.waitUntil(lambda: load_settings(app_paths().config_file).model.path == "",
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: app.core.models.loaded_name == CHAT_MODEL_FILE, timeout=WAIT_MS)
    wait_for_card(qtbot, page, "builtin", lambda card: card.row.in_use)
    assert "built-in demo" in page.in_use_line.text()


def test_clearing_the_model_path_says_the_built_in_model_at_once(qtbot, app, tiny_model_path):
    from ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(app)
    qtbot.addWidget(dialog)
    dialog.model_path.setText(str(tiny_model_path))
    qtbot.waitUntil(lambda: dialog.model_status.text().startswith("✓"), timeout=WAIT_MS)
    dialog.model_path.clear()
    assert "built-in demo model" in dialog.model_status.text()
    assert dialog.save_button.isEnabled()
    dialog.model_path.setText(str(tiny_model_path.with_name("missing.gguf")))
    assert not dialog.save_button.isEnabled()  # not until the new path is checked
    qtbot.waitUntil(lambda: dialog.model_status.text().startswith("✗"), timeout=WAIT_MS)
    assert "not found" in dialog.model_status.text()


# -- deleting ---------------------------------------------------------------------------------


def test_deleting_an_import_says_the_original_file_stays(qtbot, window, tmp_path, asked):
    original = write_tiny_model(tmp_path / "mine.gguf")
    model = window.app.core.models.manager.import_file(original)
    page = models_page(qtbot, window)
    page.refresh()
    card = wait_for_card(qtbot, page, model.name)
    asked.answer = QMessageBox.StandardButton.Yes
    card.delete.click()
    text = asked.texts[-1]
    assert f"your original file at {original.resolve()} is not touched" in text
    assert "download it again" not in text
    qtbot.waitUntil(lambda: model.name not in page.cards, timeout=WAIT_MS)
    assert original.is_file() and not model.path.exists()


# -- the list keeps its place -----------------------------------------------------------------


def test_a_failed_download_keeps_the_lists_scroll_position(qtbot, window, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())  # offline: the download fails
    window.resize(1000, 600)
    window.activateWindow()
    qtbot.waitActive(window)
    page = models_page(qtbot, window)
    bar = page.scroll_area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 400, timeout=WAIT_MS)
    name = "qwen2.5-0.5b"
    card = page.cards[name]
    bar.setValue(min(card.y() - 40, bar.maximum() - 200))
    where, card_at = bar.value(), card.y() - bar.value()
    assert where > 0
    # clicked, so the button has the focus: hidden and then deleted with its card, it used to
    # pass the focus down the list, each card scrolled into view in turn
    with qtbot.waitSignal(page.downloads.failed, timeout=WAIT_MS):
        qtbot.mouseClick(card.download, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.cards[name] is not card, timeout=WAIT_MS)  # refilled
    qtbot.wait(50)  # the view is put back on the next turn of the event loop
    assert bar.value() == where
    assert page.cards[name].y() - bar.value() == card_at
    assert page.cards[name].download.hasFocus()  # and the keyboard's place is kept too


def test_an_import_keeps_the_card_at_the_top_of_the_view_in_place(qtbot, window,
                                                                  tiny_model_path):
    window.resize(1000, 600)
    page = models_page(qtbot, window)
    bar = page.scroll_area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 400, timeout=WAIT_MS)
    top = "qwen2.5-0.5b"
    bar.setValue(page.cards[top].y() + 10)
    card_at = page.cards[top].y() - bar.value()
    model = window.app.core.models.manager.import_file(tiny_model_path, "mine")
    window.app.update_settings(window.app.core.models.manager.settings_using(model.path))
    # in use, the new card goes first, above the view: what the view showed stays put
    wait_for_card(qtbot, page, "mine", lambda card: card.row.in_use)
    qtbot.wait(50)
    assert page.cards[top].y() - bar.value() == card_at
    assert page.cards["mine"].y() < page.cards[top].y()


def test_turning_the_reranker_off_keeps_the_retrieval_section_in_view(qtbot, window, tmp_path):
    window.resize(1000, 600)
    window.app.core.knowledge.use_reranker(str(write_tiny_reranker(tmp_path / "mine.gguf")))
    page = models_page(qtbot, window)
    section = page.retrieval
    qtbot.waitUntil(lambda: "Reranker: mine.gguf" in section.in_use_line.text(),
                    timeout=WAIT_MS)
    wait_lanes(qtbot, window)
    qtbot.wait(50)  # laid out: the list has its full length
    bar = page.scroll_area.verticalScrollBar()
    bar.setValue(bar.maximum())  # the section's last buttons, below every model card
    where = bar.value()
    assert where > section.y()
    section.no_reranker.click()
    qtbot.waitUntil(lambda: "Reranker: none" in section.in_use_line.text(), timeout=WAIT_MS)
    wait_lanes(qtbot, window)
    qtbot.wait(50)
    assert abs(bar.value() - where) <= section.no_reranker.height()  # not back at the top


# -- the smallest window ----------------------------------------------------------------------


def test_the_models_pages_buttons_fit_the_smallest_window(qtbot, window, styled):
    window.resize(965, 570)
    page = models_page(qtbot, window)
    window.app.core.models.manager.set_token("hf_stored")
    page.refresh()  # the longer label: "Remove Hugging Face token"
    qtbot.waitUntil(lambda: page.token_button.property("stored"), timeout=WAIT_MS)
    qtbot.wait(50)
    assert window.size().toTuple() == (965, 570)  # the window's smallest size
    for button in (page.choose_file, page.token_button):
        assert button.sizeHint().width() <= button.width(), button.text()
    assert cut_texts(page) == []


# -- the welcome screen -----------------------------------------------------------------------


def test_the_welcome_screen_shrinks_back_after_a_failed_download(qtbot, app, monkeypatch,
                                                                  styled):
    from ui import first_run

    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())  # offline: the download fails
    app.start()
    qtbot.waitUntil(lambda: app.is_ready, timeout=WAIT_MS)
    dialog = first_run.maybe_show_first_run(app)
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.download.isEnabled(), timeout=WAIT_MS)
    qtbot.wait(50)
    before = dialog.height()
    dialog.download.click()
    with qtbot.waitSignal(dialog.downloads.failed, timeout=WAIT_MS):
        qtbot.waitUntil(lambda: dialog.height() > before, timeout=WAIT_MS)  # progress rows
    qtbot.wait(50)
    assert dialog.height() == before
    # a size of its own: the window manager draws no resize handle under the buttons
    assert dialog.minimumSize() == dialog.maximumSize()
