"""The Models page and the first-run screen, driven offscreen against a local hub."""

from __future__ import annotations

import pytest

from assistant.config import load_settings
from assistant.models import load_catalogue
from assistant.paths import app_paths
from tests.models.conftest import file_keyring, hub, model_bytes

# the file keyring everywhere: the page asks whether a token is stored
pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("file_keyring")]
__all__ = ["file_keyring", "hub", "model_bytes"]  # fixtures shared with tests/models
WAIT_MS = 30000


@pytest.fixture
def served(hub, model_bytes, file_keyring):
    """Every catalogue model without a token served by the local hub (the tiny model's bytes),
    so whichever one this machine is recommended can be downloaded."""
    for entry in load_catalogue().entries:
        if not entry.gated:
            hub.add(entry.repo, entry.file, model_bytes)
    return hub


def loaded_file(app) -> str | None:
    return app.core.models.loaded_name


def test_models_page_downloads_cancels_resumes_and_uses(window, app, served, qtbot,
                                                         model_bytes):
    served.throttle_bytes_per_s = 3_000_000
    window.show_panel("models")
    page = window.panel("models")

    def card():  # cards are rebuilt whenever the page refreshes
        return page.cards["qwen2.5-0.5b"]

    # a card added to a shown layout appears on the next turn of the event loop
    qtbot.waitUntil(lambda: "qwen2.5-0.5b" in page.cards and card().isVisible(),
                    timeout=WAIT_MS)
    assert "RAM" in page.machine_line.text() and "demo" in page.in_use_line.text()
    assert card().download.isVisibleTo(page) and not card().use.isVisibleTo(page)
    card().download.click()
    qtbot.waitUntil(lambda: "left" in card().progress_text.text(), timeout=WAIT_MS)
    assert "MB/s" in card().progress_text.text() and card().cancel.isVisibleTo(page)
    card().cancel.click()
    qtbot.waitUntil(lambda: not page.downloads.is_active("qwen2.5-0.5b"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "kept" in card().download.text(), timeout=WAIT_MS)
    served.throttle_bytes_per_s = None
    card().download.click()
    qtbot.waitUntil(lambda: card().row.installed, timeout=WAIT_MS)
    assert served.ranges()  # the second download resumed the first one's part
    card().use.click()
    installed = app_paths().models_dir / "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"
    qtbot.waitUntil(lambda: loaded_file(app) == installed.name, timeout=WAIT_MS)
    assert load_settings(app_paths().config_file).model.path == str(installed.resolve())
    qtbot.waitUntil(lambda: page.cards.get("qwen2.5-0.5b") is not None
                    and page.cards["qwen2.5-0.5b"].row.in_use, timeout=WAIT_MS)
    assert "Qwen2.5 0.5B" in page.in_use_line.text()


def test_first_run_recommends_downloads_and_uses_a_real_model(app, served, qtbot):
    from ui.first_run import maybe_show_first_run

    app.start()
    qtbot.waitUntil(lambda: app.is_ready, timeout=WAIT_MS)
    opened = []
    dialog = maybe_show_first_run(app, None, lambda: opened.append(True))
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.entry is not None, timeout=WAIT_MS)
    recommended = dialog.entry
    assert dialog.download.isEnabled() and recommended.title in dialog.title.text()
    qtbot.waitUntil(lambda: load_settings(app_paths().config_file).ui.first_run_shown,
                    timeout=WAIT_MS)
    dialog.download.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: loaded_file(app) == recommended.file, timeout=WAIT_MS)
    assert maybe_show_first_run(app) is None  # a real model now, and it was shown once


def test_first_run_uses_a_gguf_file_the_user_has(app, qtbot, tiny_model_path, file_keyring,
                                                 monkeypatch):
    from ui import first_run

    app.start()
    qtbot.waitUntil(lambda: app.is_ready, timeout=WAIT_MS)
    dialog = first_run.maybe_show_first_run(app)
    assert dialog is not None
    qtbot.addWidget(dialog)
    monkeypatch.setattr(first_run.QFileDialog, "getOpenFileName",  # the modal picker
                        lambda *_a, **_k: (str(tiny_model_path), "GGUF models (*.gguf)"))
    dialog.choose_file.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: loaded_file(app) == tiny_model_path.name, timeout=WAIT_MS)
    assert "imported" in load_settings(app_paths().config_file).model.path


def test_typing_into_the_first_run_dialog_keeps_the_demo(app, qtbot, monkeypatch):
    from ui import first_run
    from ui.qt import Qt

    picked = []
    monkeypatch.setattr(first_run.QFileDialog, "getOpenFileName",  # the modal picker
                        lambda *_a, **_k: picked.append(True) or ("", ""))
    dialog = first_run.maybe_show_first_run(app)
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.later.hasFocus(), timeout=WAIT_MS)
    # A question typed before the user saw the dialog: spaces and Enter.
    qtbot.keyClicks(dialog.focusWidget(), "How often ")
    qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    assert picked == [] and dialog.result() == first_run.QDialog.DialogCode.Rejected


def test_per_model_settings_keep_only_what_differs(app, qtbot, tiny_model_path, file_keyring):
    from ui.model_downloads import model_manager
    from ui.model_settings import ModelSettingsDialog

    manager = model_manager(app)
    model = manager.import_file(tiny_model_path, "tiny")
    dialog = ModelSettingsDialog(app, model.path, "tiny")
    qtbot.addWidget(dialog)
    assert dialog.gpu_layers.text() == "auto"  # the general setting, shown as is
    dialog.context.setValue(1024)
    dialog.system_prompt.setPlainText("Answer like a pirate.")
    dialog.accept()
    profile = manager.profile(model.path)
    assert (profile.context_size, profile.gpu_layers) == (1024, None)
    assert profile.system_prompt == "Answer like a pirate."
    settings = manager.settings_using(model.path)
    assert settings.model.context_size == 1024 and settings.model.gpu_layers == "auto"
