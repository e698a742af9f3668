"""The Models page: the catalogue with what fits this computer, downloads with speed and time
left, and the models you have (use, settings, delete)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core import DownloadProgress as Progress
from assistant.core import Machine, ModelRow, gigabytes
from ui.confirm import confirmed
from ui.message_widgets import label
from ui.model_downloads import (
    import_model,
    model_downloads,
    model_manager,
    use_embedded,
    use_model,
)
from ui.model_settings import ModelSettingsDialog
from ui.panels.base import Panel, scrolling
from ui.panels.retrieval import RetrievalSection
from ui.qt import (
    QApplication,
    QEvent,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QProgressBar,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from ui.app import LoremindApp

RETRIEVAL = "<retrieval>"  # where the view is kept below the cards (no model has this name)


class ModelCard(QFrame):
    """One model: what it is, whether it fits, and what can be done with it now."""

    def __init__(self, row: ModelRow, page: ModelsPanel) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.row = row
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(4)
        marks = [m for m, on in (("In use", row.in_use), ("Recommended", row.recommended),
                                 ("Needs a token", row.gated)) if on]
        title = row.title + (f"  ·  {' · '.join(marks)}" if marks else "")
        self.title = label(title, "SourceTitle", wrap=True)
        layout.addWidget(self.title)
        facts = [f"{row.params / 1e9:.1f}B" if row.params else "",
                 gigabytes(row.size_bytes), row.license, row.fit_note]
        self.facts = label(" · ".join(f for f in facts if f), "Count", wrap=True)
        layout.addWidget(self.facts)
        if row.summary:
            layout.addWidget(label(row.summary, "Hint", wrap=True))
        self.template_note = label(row.template_note, "Reason", wrap=True)
        self.template_note.setVisible(bool(row.template_note))
        layout.addWidget(self.template_note)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.progress_text = label("", "Hint", wrap=True)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_text)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.download = self._button("Download", "Primary", lambda: page.download(row.name))
        if row.partial_bytes and not row.installed:
            self.download.setText(f"Resume ({gigabytes(row.partial_bytes)} kept)")
        self.cancel = self._button("Cancel", "", lambda: page.cancel(row.name))
        self.use = self._button("Use", "Primary", lambda: page.use(row))
        self.settings = self._button("Settings…", "", lambda: page.edit_settings(row))
        self.delete = self._button("Delete", "Danger", lambda: page.delete(row))
        self.buttons = (self.download, self.cancel, self.use, self.settings, self.delete)
        for button in self.buttons:
            buttons.addWidget(button)
        buttons.addStretch()
        layout.addLayout(buttons)
        self.show_state(page.downloads.is_active(row.name), page.downloads.latest.get(row.name))

    @staticmethod
    def _button(text: str, name: str, action: Any) -> QPushButton:
        button = QPushButton(text)
        if name:
            button.setObjectName(name)
        button.clicked.connect(action)
        return button

    def show_state(self, downloading: bool, progress: Progress | None = None) -> None:
        """Show the buttons and progress that fit the model's state now."""
        row = self.row
        self.download.setEnabled(row.fits)
        self.download.setToolTip("" if row.fits else f"Too big for this computer: {row.fit_note}")
        own = row.installed and not row.is_builtin  # the built-in model is part of Loremind
        self._show_buttons({self.download: not row.installed and not downloading,
                            self.cancel: downloading, self.use: row.installed and not row.in_use,
                            self.settings: own, self.delete: own})
        self.progress.setVisible(downloading)
        self.progress_text.setVisible(downloading)
        if downloading:
            self.show_progress(progress)

    def _show_buttons(self, shown: dict[QPushButton, bool]) -> None:
        """Show and hide buttons, the focus staying on the card: a focused button that hides
        passes the focus down the list, and the list scrolls to wherever it lands."""
        focused = self.focused_button()
        for button, on in shown.items():
            if on:
                button.show()
        if focused is not None and not shown[self.buttons[focused]]:
            self.take_focus(focused)
        for button, on in shown.items():
            if not on:
                button.hide()

    def focused_button(self) -> int | None:
        """Which of the card's buttons has the keyboard focus (its index), if one has."""
        return next((i for i, button in enumerate(self.buttons) if button.hasFocus()), None)

    def take_focus(self, index: int) -> None:
        """Focus button ``index``, else the first that can take it (setFocus never scrolls)."""
        usable = [b for b in self.buttons if not b.isHidden() and b.isEnabled()]
        button = self.buttons[index]
        target = button if button in usable else next(iter(usable), None)
        if target is not None:
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_progress(self, progress: Progress | None) -> None:
        """Draw how far the download is, its speed and the time left."""
        if progress is None:
            self.progress.setRange(0, 0)  # busy: waiting its turn or connecting
            self.progress_text.setText("Waiting…")
            return
        fraction = progress.fraction
        if fraction is None or progress.phase != "downloading":
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        self.progress_text.setText(progress.describe())


class ModelsPanel(Panel):
    """Choose the chat model: download one that fits, or use a GGUF file you have."""

    areas = ("model", "settings")

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(app, "Models", "Chat models run on this computer. Pick one that fits; "
                         "it downloads once from Hugging Face and then works offline.", parent)
        self.manager = model_manager(app)
        self.downloads = model_downloads(app)
        self.cards: dict[str, ModelCard] = {}
        self.machine_line = label("", "Count", wrap=True)
        self.in_use_line = label("", "Count", wrap=True)
        self.body.addWidget(self.machine_line)
        self.body.addWidget(self.in_use_line)
        self.choose_file = QPushButton("Choose a GGUF file…")
        self.choose_file.clicked.connect(self.import_file)
        self.token_button = QPushButton("Hugging Face token…")
        self.token_button.clicked.connect(self.edit_token)
        # one under the other: side by side they are cut off in the narrowest panel
        for button in (self.choose_file, self.token_button):
            self.body.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        inner = QWidget()
        self.list = QVBoxLayout(inner)
        self.list.setContentsMargins(0, 0, 0, 0)
        self.list.setSpacing(8)
        self.list.addStretch()
        # Below the chat models: the embedders and rerankers search uses.
        self.retrieval = RetrievalSection(app)
        self.list.insertWidget(0, self.retrieval)
        self.scroll_area = scrolling(inner)
        self.body.addWidget(self.scroll_area, 1)
        self.downloads.progressed.connect(self._progressed)
        self.downloads.finished.connect(lambda _name, _model: self.refresh())
        self.downloads.failed.connect(lambda _name, _error: self.refresh())
        if not app.is_ready:  # once ready, the window refreshes every panel it creates
            self.refresh()

    def refresh(self) -> None:
        """Read the catalogue, this machine and the installed models again (db lane: asking
        about the GPU loads llama.cpp, which must not hold up the window)."""
        manager = self.manager

        def read() -> tuple[list[ModelRow], Machine, bool]:
            builtin = manager.builtin_row()
            rows = manager.rows() + ([builtin] if builtin is not None else [])
            return rows, manager.machine(), manager.has_token()

        BackgroundOp(self, read, self._fill).run(self.app.tasks, "db")
        self.retrieval.refresh()

    def _fill(self, found: tuple[list[ModelRow], Machine, bool]) -> None:
        rows, machine, has_token = found
        gpu = (f"GPU {gigabytes(machine.vram_bytes)}" if machine.vram_bytes else
               "GPU offload available" if machine.gpu_offload else "no GPU offload")
        self.machine_line.setText(f"This computer: {gigabytes(machine.ram_bytes)} RAM, {gpu}")
        using = next((r for r in rows if r.in_use), None)
        self.in_use_line.setText("In use: " + (using.title if using else
                                               "the embedded demo model (SmolLM2-135M)"))
        self.token_button.setText("Remove Hugging Face token" if has_token
                                  else "Hugging Face token…")
        self.token_button.setProperty("stored", has_token)
        view = self._view()
        focus = next(((name, index) for name, card in self.cards.items()
                      if (index := card.focused_button()) is not None), None)
        if focus is not None:  # parked: a focused card deleted would pass it down the list
            self.scroll_area.setFocus(Qt.FocusReason.OtherFocusReason)
        for card in self.cards.values():
            card.setParent(None)
            card.deleteLater()
        self.cards = {}
        for row in sorted(rows, key=lambda r: (not r.in_use, not r.installed, not r.recommended)):
            card = ModelCard(row, self)
            self.cards[row.name] = card
            self.list.insertWidget(self.list.indexOf(self.retrieval), card)
            card.show()  # now, not on the next turn of the event loop: _keep_view places it
        if focus is not None and focus[0] in self.cards:
            self.cards[focus[0]].take_focus(focus[1])
        self._keep_view(view)

    def _view(self) -> tuple[str, int] | None:
        """What the list shows at its top: the first card in view and how far it sits above the
        top edge; None at the very top, where the list stays at its start."""
        top = self.scroll_area.verticalScrollBar().value()
        if top == 0:
            return None
        return next(((name, top - card.y()) for name, card in self._anchors().items()
                     if card.y() + card.height() > top), None)

    def _anchors(self) -> dict[str, QWidget]:
        """What the view can be kept on: the cards, then the Retrieval section below them."""
        return {**self.cards, RETRIEVAL: self.retrieval}

    def _keep_view(self, view: tuple[str, int] | None) -> None:
        """Scroll the refilled list so that the card that was at the top is there again (cards
        change height and order, so the old scroll value would land elsewhere)."""
        # Lay the new cards out now, before anything is painted: their places are known only
        # once the pending layout requests (cards, list, scroll area) have run.
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        card = self._anchors().get(view[0]) if view is not None else None
        self.scroll_area.verticalScrollBar().setValue(card.y() + view[1] if card and view else 0)

    def _progressed(self, name: str, progress: Progress) -> None:
        card = self.cards.get(name)
        if card is not None:
            card.show_progress(progress)

    # -- actions -------------------------------------------------------------------------------

    def download(self, name: str) -> None:
        """Start downloading ``name`` (shown on its card)."""
        self.downloads.start(name)
        card = self.cards.get(name)
        if card is not None:
            card.show_state(True)

    def cancel(self, name: str) -> None:
        """Stop the download of ``name``; it resumes from where it stopped next time."""
        self.downloads.cancel(name)

    def use(self, row: ModelRow) -> None:
        """Answer with ``row``'s model from now on (it loads in the background)."""
        if row.is_builtin:
            use_embedded(self.app)
        else:
            use_model(self.app, row.path or row.name)

    def delete(self, row: ModelRow) -> None:
        """Delete an installed model after asking."""
        if not confirmed(self, "Delete model",
                         f"Delete {row.title} ({gigabytes(row.size_bytes)})? "
                         f"{row.deletion_note}"):
            return
        self.manager.remove(row.name)
        self.refresh()

    def edit_settings(self, row: ModelRow) -> ModelSettingsDialog:
        """Open the settings that belong to ``row``'s model (non-blocking); returns the dialog."""
        dialog = ModelSettingsDialog(self.app, Path(row.path), row.title, self)
        dialog.open()
        return dialog

    def import_file(self) -> None:
        """Choose a GGUF file on disk, add it to the models and use it."""
        path, _filter = QFileDialog.getOpenFileName(self, "Choose a GGUF model file",
                                                    str(Path.home()), "GGUF models (*.gguf)")
        if not path:
            return

        def imported(model: Any) -> None:
            use_model(self.app, model.path)
            self.refresh()

        import_model(self.app, self, Path(path), imported)

    def edit_token(self) -> None:
        """Store a Hugging Face token for gated models, or remove the stored one."""
        manager = self.manager
        if self.token_button.property("stored"):
            BackgroundOp(self, manager.remove_token, lambda _gone: self.refresh()).run(
                self.app.tasks, "db")
            return
        token, ok = QInputDialog.getText(
            self, "Hugging Face token", "Gated models (Gemma, some Llama builds) need a token "
            "from huggingface.co/settings/tokens. It is kept in the system keyring.",
            QLineEdit.EchoMode.Password)
        if ok and token.strip():
            BackgroundOp(self, lambda: manager.set_token(token), lambda _r: self.refresh()).run(
                self.app.tasks, "db")
