"""The quick-ask popup: a small frameless window near the tray or the cursor for one question.

It holds a compact :class:`ChatView`, so the answer streams through the same facade and events as
the main chat (memories, knowledge, the chat's adapters). The chat is stored like any other;
"Open in main window" hands it to the main window to continue. Esc hides the popup; an answer
still streaming goes on and is there when it opens again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ui import theme
from ui.chat_view import ChatView
from ui.message_widgets import label, tool_button
from ui.qt import (
    QCursor,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QPoint,
    QRect,
    QShortcut,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    from assistant.core import ChatSession
    from ui.app import LoremindApp

POPUP_SIZE = (560, 460)
MARGIN = 12  # from the screen's edge and from the tray icon


class QuickAskPopup(QFrame):
    """A frameless, always-on-top window with one compact chat."""

    open_in_main = Signal(object)  # the ChatSession to continue in the main window

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.setObjectName("QuickAsk")
        self.setWindowTitle("Loremind: quick ask")
        self.setWindowFlags(Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                            | Qt.WindowType.WindowStaysOnTopHint)
        self.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self.resize(*POPUP_SIZE)
        self._pending = ""  # a question given before the model was ready
        self.chat = ChatView(app, compact=True)
        self.chat.busy_changed.connect(self._update_buttons)
        self.chat.session_updated.connect(lambda _s: self._update_buttons())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(0)
        layout.addWidget(self._header())
        layout.addWidget(self.chat, 1)
        hide = QShortcut(QKeySequence("Esc"), self)
        hide.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        hide.activated.connect(self.hide)
        app.answering.connect(self._ready)
        app.ready.connect(self._ready)
        if app.takes_questions:
            self._ready()
        else:
            self.chat.composer.setEnabled(False)
            self.chat.composer.edit.setPlaceholderText("Loading the model…")

    def _header(self) -> QWidget:
        header = QFrame()
        header.setObjectName("QuickAskHeader")
        row = QHBoxLayout(header)
        row.setContentsMargins(12, 6, 6, 6)
        row.setSpacing(4)
        icon = QLabel()
        icon.setPixmap(theme.logo().pixmap(18, 18))
        row.addWidget(icon)
        row.addWidget(label("Quick ask", "QuickAskTitle"), 1)
        self.main_button = QToolButton()
        self.main_button.setIcon(theme.icon("open", "muted"))
        self.main_button.setText("Open in main window")
        self.main_button.setToolTip("Continue this chat in the main window")
        self.main_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.main_button.clicked.connect(self.continue_in_main)
        self.new_button = tool_button("plus", "New question")
        self.new_button.clicked.connect(self.new_chat)
        close = tool_button("close", "Hide (Esc)")
        close.clicked.connect(self.hide)
        for button in (self.main_button, self.new_button, close):
            row.addWidget(button)
        return header

    # -- the chat ------------------------------------------------------------------------------

    def _ready(self) -> None:
        self.chat.composer.setEnabled(True)
        self.chat.composer.edit.setPlaceholderText("Ask anything… (Enter to send, Esc to hide)")
        if self.chat.session is None:
            self.new_chat()
        if self._pending:
            question, self._pending = self._pending, ""
            self.ask(question)

    def new_chat(self) -> None:
        """Start over with an empty chat (stored once it is answered)."""
        if not self.app.takes_questions:
            return
        self.chat.show_session(self.app.core.chat.new_session())
        self._update_buttons()

    def ask(self, question: str) -> None:
        """Ask ``question`` now, or as soon as the model is ready."""
        if not self.app.takes_questions or self.chat.session is None:
            self._pending = question
            return
        if self.chat.busy:
            return
        self.chat.send(question)

    def continue_in_main(self) -> None:
        """Hand this chat to the main window, then start afresh here and hide."""
        session = self.chat.session
        if session is None or self.chat.busy or not session.messages:
            return
        self.open_in_main.emit(session)
        self.new_chat()
        self.hide()

    def _update_buttons(self, *_args: object) -> None:
        session: ChatSession | None = self.chat.session
        has_chat = session is not None and bool(session.messages)
        self.main_button.setEnabled(has_chat and not self.chat.busy)
        self.new_button.setEnabled(not self.chat.busy)

    # -- showing -------------------------------------------------------------------------------

    def open_near(self, anchor: QRect | None = None) -> None:
        """Show the popup next to ``anchor`` (the tray icon) or else below the mouse pointer."""
        self.move(self.position_for(anchor))
        self.show()
        self.raise_()
        self.activateWindow()
        self.chat.composer.edit.setFocus()

    def position_for(self, anchor: QRect | None) -> QPoint:
        """Top-left corner that keeps the popup on the screen, beside ``anchor`` or the cursor."""
        cursor = QCursor.pos()
        point = anchor.center() if anchor is not None and anchor.isValid() else cursor
        screen = QGuiApplication.screenAt(point) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry()
        width, height = self.width(), self.height()
        if anchor is not None and anchor.isValid():
            # a tray at the top opens the popup below it, one at the bottom above it
            below = anchor.center().y() < area.center().y()
            y = anchor.bottom() + MARGIN if below else anchor.top() - height - MARGIN
            x = anchor.center().x() - width // 2
        else:
            x, y = cursor.x() - width // 2, cursor.y() + MARGIN
        x = max(area.left() + MARGIN, min(x, area.right() - width - MARGIN))
        y = max(area.top() + MARGIN, min(y, area.bottom() - height - MARGIN))
        return QPoint(x, y)
