"""The adapters panel: the LoRA files found, whether each fits the model, and this chat's set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.core import plain_reason
from ui.confirm import confirmed
from ui.message_widgets import label, tool_button
from ui.panels.base import Panel, scrolling
from ui.qt import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QSlider,
    Qt,
    QVBoxLayout,
    QWidget,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from assistant.core import Change, ChatSession
    from ui.app import LoremindApp

SCALE_STEPS = 100  # slider units per 1.0 of scale
MAX_SCALE = 2.0


class AdapterRow(QFrame):
    """One adapter file: on/off, its scale, what it is, or why it cannot be used."""

    card_text = ""  # the card of an adapter trained here (see _show_card)

    def __init__(self, info: Any, on: bool, scale: float, changed: Any, delete: Any) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.info = info
        self.setProperty("disabled", "false" if info.compatible else "true")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        self.check = QCheckBox(info.name)
        self.check.setChecked(on and info.compatible)
        self.check.setEnabled(info.compatible)
        top = QHBoxLayout()
        top.addWidget(self.check, 1)
        self.delete_button = tool_button("trash", f"Delete {info.path.name}")
        self.delete_button.clicked.connect(lambda: delete(info))
        top.addWidget(self.delete_button)
        layout.addLayout(top)
        if info.compatible:
            details = f"rank {info.rank}"
            if info.alpha:
                details += f" · alpha {info.alpha:g}"
            details += f" · {info.size_bytes / 1e6:.1f} MB · {info.path.name}"
            layout.addWidget(label(details, "Count", wrap=True))
        else:
            reason = label(f"{info.path.name} {plain_reason(info.reason)}.", "Reason", wrap=True)
            reason.setToolTip(f"{info.path.name} {info.reason}.")  # the precise check
            layout.addWidget(reason)
        row = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, int(MAX_SCALE * SCALE_STEPS))
        self.slider.setValue(int(round(scale * SCALE_STEPS)))
        self.slider.setEnabled(info.compatible)
        self.value = label(f"×{scale:.2f}", "Count")
        self.value.setFixedWidth(44)
        row.addWidget(label("Scale", "Count"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.value)
        if info.compatible:
            layout.addLayout(row)
        else:
            for widget in (self.slider, self.value):
                widget.hide()
        self.check.toggled.connect(lambda _on: changed())
        self.slider.valueChanged.connect(self._slid)
        self.slider.sliderReleased.connect(changed)
        self._changed = changed

    @property
    def scale(self) -> float:
        return self.slider.value() / SCALE_STEPS

    def _slid(self, _value: int) -> None:
        self.value.setText(f"×{self.scale:.2f}")
        if not self.slider.isSliderDown():
            self._changed()  # keyboard and wheel changes have no "released"


class AdaptersPanel(Panel):
    """Switch adapters on and off for the chat on screen; saved with the chat."""

    areas = ("adapters", "model")

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(app, "Adapters", "LoRA files in the adapters folders, applied to this "
                         "chat from its next answer. Incompatible files are shown with why.",
                         parent)
        self.session: ChatSession | None = None
        self.rows: list[AdapterRow] = []
        inner = QWidget()
        self.list = QVBoxLayout(inner)
        self.list.setContentsMargins(0, 0, 0, 0)
        self.list.setSpacing(8)
        self.list.addStretch()
        self.body.addWidget(scrolling(inner), 1)
        self.folder_hint = label("", "Hint", wrap=True)
        self.body.addWidget(self.folder_hint)
        self.teach_button = QPushButton("Teach a new adapter…")
        self.teach_button.setToolTip("Train an adapter on texts or example answers you choose")
        self.teach_button.clicked.connect(self.open_teach)
        self.body.addWidget(self.teach_button)
        self._adapters: list[Any] = []
        self._cards: dict[Any, dict[str, Any]] = {}  # adapter path -> its card (trained here)
        self.teach_dialog: Any = None

    def show_session(self, session: ChatSession) -> None:
        """Show the adapters of ``session``."""
        self.session = session
        self._fill()

    def refresh(self) -> None:
        """Read the adapters found, judged against the model in use (db lane: only headers are
        read, llama.cpp is not touched)."""
        if not self.app.is_ready:
            return
        adapters = self.app.core.adapters

        teach = self.app.core.teach

        def listed() -> tuple[list[Any], dict[Any, dict[str, Any]]]:
            found = adapters.list()
            cards = {info.path: teach.card(info.path) for info in found}
            return found, {path: card for path, card in cards.items() if card}

        def shown(result: tuple[list[Any], dict[Any, dict[str, Any]]]) -> None:
            found, self._cards = result
            self._adapters = found
            note = adapters.engine_note  # a model on a server: what its adapters can do
            self.folder_hint.setText(note[:1].upper() + note[1:] + "." if note else
                                     "Folders: " + ", ".join(str(f) for f in adapters.folders))
            self._fill()

        BackgroundOp(self, listed, shown).run(self.app.tasks, "db")

    def open_teach(self) -> None:
        """Open the Teach dialog: the one open or training, else a fresh one (not the last
        run's name and results); a trained adapter shows up here through the core's change."""
        from ui.teach_dialog import TeachDialog

        old = self.teach_dialog
        if old is None or not (old.isVisible() or old.training):
            if old is not None:
                old.setParent(None)  # freed once the work it waits for (if any) reports back
            self.teach_dialog = TeachDialog(self.app, self.window())
        self.teach_dialog.show()
        self.teach_dialog.raise_()

    def delete_adapter(self, info: Any) -> None:
        """Ask, then delete an adapter file and its card; the chats that used it go on
        without it (the core takes it out of their sets)."""
        if not self.app.is_ready:
            return
        if not confirmed(self, "Delete this adapter?",
                         f"Delete “{info.name}”? The file {info.path} and its card are deleted "
                         "for good; chats that used it go on without it."):
            return
        adapters = self.app.core.adapters
        open_chats = [self.session] if self.session is not None else []

        def deleted(_change: Change) -> None:
            self.app.status.emit(f"Deleted the adapter “{info.name}”.", False)

        BackgroundOp(self, lambda: adapters.delete(info.path, open_chats), deleted).run(
            self.app.tasks, "db")

    def _fill(self) -> None:
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows = []
        chosen = {a["name"]: float(a["scale"]) for a in (self.session.adapters
                                                        if self.session else [])}
        if not self._adapters:
            empty = AdapterRowPlaceholder()
            self.rows.append(empty)  # type: ignore[arg-type]
            self.list.insertWidget(0, empty)
            return
        for info in self._adapters:
            row = AdapterRow(info, info.name in chosen, chosen.get(info.name, 1.0),
                             self._store_choice, self.delete_adapter)
            card = self._cards.get(info.path)
            if card:
                _show_card(row, card)
            self.rows.append(row)
            self.list.insertWidget(self.list.count() - 1, row)

    def _changed(self, change: Change) -> None:
        if change.action != "chosen":  # a chat's choice is made here: the rows already show it
            super()._changed(change)

    def _store_choice(self) -> None:
        """Store the chat's new set; the facade applies it before the next answer."""
        session = self.session
        if not self.app.is_ready or session is None:
            return
        adapters = self.app.core.adapters
        chosen = [(row.info.name, row.scale) for row in self.rows
                  if isinstance(row, AdapterRow) and row.check.isChecked()]
        BackgroundOp(self, lambda: adapters.set_for_chat(session, chosen)).run(
            self.app.tasks, "model")


def _show_card(row: AdapterRow, card: dict[str, Any]) -> None:
    """A trained adapter's card on its row: the result in one line, the whole card on demand."""
    from assistant.core import card_lines, plural

    lines = card_lines(card)
    before, after = card.get("heldout_loss_before"), card.get("heldout_loss_after")
    examples = card.get("data", {}).get("counts", {}).get("examples", 0)
    summary = f"Trained here on {plural(examples, 'example')}"
    if before is not None and after is not None:
        summary += f" · held-out loss {before:.2f} → {after:.2f}"
    layout = row.layout()
    assert isinstance(layout, QVBoxLayout)
    layout.addWidget(label(summary, "Count", wrap=True))
    button = QPushButton("Card…")
    button.setObjectName("CardButton")
    button.clicked.connect(lambda: QMessageBox.information(
        row, f"Adapter card: {row.info.name}", "\n".join(lines)))
    layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
    row.card_text = "\n".join(lines)


class AdapterRowPlaceholder(QFrame):
    """Shown when no adapter file was found."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Card")
        layout = QVBoxLayout(self)
        layout.addWidget(label("No adapters yet. Put LoRA adapters converted to GGUF in an "
                               "adapters folder; they appear here.", "Muted", wrap=True))
