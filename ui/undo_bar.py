"""A short-lived note with an Undo button: "Chat deleted · Undo", "Forgot “…” · Undo".

Destructive actions happen at once and offer their undo here, in place, for a few seconds,
instead of asking first or hiding the undo somewhere else.
"""

from __future__ import annotations

from collections.abc import Callable

from ui.message_widgets import label, tool_button
from ui.qt import QFrame, QHBoxLayout, QPushButton, QTimer, QWidget

UNDO_SECONDS = 10


class UndoBar(QFrame):
    """Says what just happened; Undo calls the given function once."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UndoBar")
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 6, 6)
        self.text = label("", wrap=True)
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo)
        close = tool_button("close", "Dismiss")
        close.clicked.connect(self.dismiss)
        row.addWidget(self.text, 1)
        row.addWidget(self.undo_button)
        row.addWidget(close)
        self._undo: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    def offer(self, message: str, undo: Callable[[], None]) -> None:
        """Show ``message`` with an Undo button for a few seconds."""
        self.text.setText(message)
        self._undo = undo
        self.show()
        self._timer.start(UNDO_SECONDS * 1000)

    def undo(self) -> None:
        """Run the undo (once) and hide."""
        undo, self._undo = self._undo, None
        self.dismiss()
        if undo is not None:
            undo()

    def dismiss(self) -> None:
        self._timer.stop()
        self._undo = None
        self.hide()
