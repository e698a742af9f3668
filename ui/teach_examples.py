""""Use as an example": mark a chat answer, or the user's rewrite of it, as Teach material.

Nothing is learned here: the mark only lets ``--from-chats`` (and the Teach dialog's "answers I
marked") include the answer when the user next trains an adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ui.message_widgets import label
from ui.qt import (
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from assistant.core import ChatSession
    from ui.app import LoremindApp


class ExampleEditor(QDialog):
    """The answer to keep, editable, its lines wrapped to the window (an answer is prose: a
    line that runs off to the right cannot be read or rewritten)."""

    def __init__(self, parent: QWidget | None, text: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Use as an example")
        self.resize(560, 420)
        layout = QVBoxLayout(self)
        layout.addWidget(label("Teach can learn to answer like this. Keep the answer, or "
                               "rewrite it the way you want it; only this text is kept, and "
                               "only until you train or unmark it.", "Hint", wrap=True))
        self.text = QPlainTextEdit(text)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        layout.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @classmethod
    def ask(cls, parent: QWidget | None, text: str) -> str | None:
        """The text the user keeps, or None when they cancel."""
        editor = cls(parent, text)
        try:
            if editor.exec() != QDialog.DialogCode.Accepted:
                return None
            return editor.text.toPlainText()
        finally:
            editor.deleteLater()


def offer_example(parent: QWidget, app: LoremindApp, session: ChatSession | None,
                  answer: Any) -> None:
    """Ask whether to keep the answer as it is or as the user rewrites it, then mark it."""
    if session is None or not answer.message_id:
        return
    if session.temporary:
        QMessageBox.information(parent, "Use as an example", "A temporary chat is not stored, "
                                "so its answers can't be kept as examples.")
        return
    text = ExampleEditor.ask(parent, answer.text)
    if text is None or not text.strip():
        return
    rewrite = "" if text.strip() == answer.text.strip() else text
    examples = app.core.teach.examples

    def marked(_example: object) -> None:
        answer.example_button.setToolTip("Kept as an example for Teach (Adapters → Teach)")
        answer.example_button.setEnabled(False)

    BackgroundOp(parent, lambda: examples.mark(session.id, answer.message_id, rewrite),
                 marked).run(app.tasks, "db")
