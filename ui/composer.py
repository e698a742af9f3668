"""Where the user types: Enter sends, Shift+Enter starts a new line, the button sends or stops."""

from __future__ import annotations

from ui import theme
from ui.message_widgets import label, tool_button
from ui.qt import (
    QEvent,
    QFrame,
    QHBoxLayout,
    QKeyEvent,
    QObject,
    QPlainTextEdit,
    QSize,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)

MAX_LINES = 8


class ComposerEdit(QPlainTextEdit):
    """A plain-text editor that grows with its text and sends on Enter."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComposerEdit")
        self.setTabChangesFocus(True)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    def _fit(self) -> None:
        line = self.fontMetrics().lineSpacing()
        wanted = max(int(self.document().size().height()), 1)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if wanted > MAX_LINES
                                        else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(min(wanted, MAX_LINES) * line + 14)


class Composer(QFrame):
    """The message box with its send/stop button and the "editing your last message" strip."""

    send = Signal(str)
    stop = Signal()
    edit_cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Composer")
        self._busy = False
        self.editing = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 8, 8, 8)
        outer.setSpacing(6)
        self.edit_strip = QFrame()
        self.edit_strip.setObjectName("EditBanner")
        strip = QHBoxLayout(self.edit_strip)
        strip.setContentsMargins(8, 2, 2, 2)
        strip.addWidget(label("Editing your last message: sending answers it again", "Hint"))
        strip.addStretch()
        cancel = tool_button("close", "Cancel the edit")
        cancel.clicked.connect(self.cancel_edit)
        strip.addWidget(cancel)
        self.edit_strip.hide()
        outer.addWidget(self.edit_strip)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.edit = ComposerEdit(self)
        self.edit.setPlaceholderText("Ask anything… (Enter to send, Shift+Enter for a new line)")
        self.edit.submitted.connect(self._submit)
        self.edit.installEventFilter(self)
        self.button = QToolButton()
        self.button.setObjectName("SendButton")
        self.button.setIconSize(QSize(18, 18))
        self.button.clicked.connect(self._button_clicked)
        row.addWidget(self.edit, 1)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addLayout(row)
        self.set_busy(False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.edit and event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self.setProperty("focused", "true" if event.type() == QEvent.Type.FocusIn else "false")
            self.style().unpolish(self)
            self.style().polish(self)
        return super().eventFilter(watched, event)

    @property
    def text(self) -> str:
        return self.edit.toPlainText()

    def set_busy(self, busy: bool) -> None:
        """While an answer streams the button stops it, and Enter does nothing."""
        self._busy = busy
        self.button.setIcon(theme.icon("stop" if busy else "send", "accent_text"))
        self.button.setToolTip("Stop (Esc)" if busy else "Send (Enter)")

    def start_edit(self, text: str) -> None:
        """Put the last message back in the box to be changed."""
        self.editing = True
        self.edit.setPlainText(text)
        self.edit_strip.show()
        self.edit.setFocus()

    def cancel_edit(self) -> None:
        if self.editing:
            self.editing = False
            self.edit.clear()
            self.edit_strip.hide()
            self.edit_cancelled.emit()

    def finish_edit(self) -> None:
        self.editing = False
        self.edit_strip.hide()

    def _button_clicked(self) -> None:
        if self._busy:
            self.stop.emit()
        else:
            self._submit()

    def _submit(self) -> None:
        text = self.text.strip()
        if self._busy or not text or not self.isEnabled():
            return
        self.send.emit(text)
