""""Use as an example": mark a chat answer, or the user's rewrite of it, as Teach material.

Nothing is learned here: the mark only lets ``--from-chats`` (and the Teach dialog's "answers I
marked") include the answer when the user next trains an adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ui.qt import QInputDialog, QMessageBox, QWidget
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from assistant.core import ChatSession
    from ui.app import LoremindApp


def offer_example(parent: QWidget, app: LoremindApp, session: ChatSession | None,
                  answer: Any) -> None:
    """Ask whether to keep the answer as it is or as the user rewrites it, then mark it."""
    if session is None or not answer.message_id:
        return
    if session.temporary:
        QMessageBox.information(parent, "Use as an example", "A temporary chat is not stored, "
                                "so its answers can't be kept as examples.")
        return
    text, ok = QInputDialog.getMultiLineText(
        parent, "Use as an example",
        "Teach can learn to answer like this. Keep the answer, or rewrite it the way you want "
        "it; only this text is kept, and only until you train or unmark it.", answer.text)
    if not ok or not text.strip():
        return
    rewrite = "" if text.strip() == answer.text.strip() else text
    examples = app.core.teach.examples

    def marked(_example: object) -> None:
        answer.example_button.setToolTip("Kept as an example for Teach (Adapters → Teach)")
        answer.example_button.setEnabled(False)

    BackgroundOp(parent, lambda: examples.mark(session.id, answer.message_id, rewrite),
                 marked).run(app.tasks, "db")
