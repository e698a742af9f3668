"""The chat list: new chat, temporary chat, search (titles at once, contents in the background)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ui import theme
from ui.message_widgets import label
from ui.qt import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPoint,
    QPushButton,
    Qt,
    QTimer,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from assistant.core import Change, ChatSession
    from ui.app import LoremindApp

SEARCH_DELAY_MS = 300
RENAME_MIN_WIDTH, RENAME_MAX_WIDTH = 420, 760  # the rename field, in pixels
_ID = Qt.ItemDataRole.UserRole
_TITLE = Qt.ItemDataRole.UserRole + 1


class Sidebar(QFrame):
    """Stored chats, most recent first; emits which one to open."""

    open_requested = Signal(str)  # a stored chat's id
    new_requested = Signal(bool)  # temporary?
    deleted = Signal(str)
    undoable = Signal(str, object)  # what was done, the function that undoes it
    renamed = Signal(str, str)

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        app.changed.connect(self._changed)
        self.setObjectName("Sidebar")
        self.setMinimumWidth(220)
        self.sessions: list[ChatSession] = []
        # The chat the window shows: the one row highlighted, whatever refills the list (a
        # search, a rename, an undone delete, a chat answered in the background).
        self.shown_id: str | None = None
        self._content_hits: set[str] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 14, 12, 12)
        layout.setSpacing(10)
        brand = QHBoxLayout()
        logo = label("")
        logo.setPixmap(theme.logo().pixmap(26, 26))
        brand.addWidget(logo)
        brand.addWidget(label("Loremind", "SidebarTitle"))
        brand.addStretch()
        layout.addLayout(brand)
        buttons = QHBoxLayout()
        self.new_button = QPushButton(theme.icon("plus", "accent_text"), "New chat")
        self.new_button.setObjectName("Primary")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.new_button.clicked.connect(lambda: self.new_requested.emit(False))
        self.temporary_button = QToolButton()
        self.temporary_button.setIcon(theme.icon("temporary", "muted"))
        self.temporary_button.setToolTip("Temporary chat: never saved, never remembered")
        self.temporary_button.clicked.connect(lambda: self.new_requested.emit(True))
        buttons.addWidget(self.new_button, 1)
        buttons.addWidget(self.temporary_button)
        layout.addLayout(buttons)
        self.search = QLineEdit()
        self.search.setObjectName("SearchBox")
        self.search.setPlaceholderText("Search chats  (Ctrl+K)")
        self.search.addAction(theme.icon("search", "muted"),
                              QLineEdit.ActionPosition.LeadingPosition)
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        layout.addWidget(self.search)
        layout.addWidget(label("CHATS", "SectionLabel"))
        self.list = QListWidget()
        self.list.setObjectName("ChatList")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemClicked.connect(lambda item: self.open_requested.emit(item.data(_ID)))
        # In place of the list when there is nothing to list: while the chats load at start-up
        # (seconds, on a slow disk), and when there are none.
        self.placeholder = label("Loading your chats…", "Hint", wrap=True)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.list, 1)
        # Takes the room the hidden list leaves, so the rest stays at the top (without it,
        # the logo, buttons and placeholder spread down the whole sidebar).
        layout.addStretch()
        self.list.hide()
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search_contents)

    def refresh(self) -> None:
        """Read the stored chats again (db lane) and show them."""
        if not self.app.is_ready:
            return

        def shown(sessions: list[ChatSession]) -> None:
            self.sessions = sessions
            self._fill()

        BackgroundOp(self, self.app.core.chat.list, shown).run(self.app.tasks, "db")

    def _changed(self, change: Change) -> None:
        from assistant.core import Area

        listed = {self.list.item(row).data(_ID) for row in range(self.list.count())}
        if (change.about(Area.CHATS) and change.action in ("answering", "answer ended")
                and set(change.ids) <= listed):
            self._mark_answering()
        elif change.about(Area.CHATS):
            self.refresh()

    def _mark_answering(self) -> None:
        """Chats with an answer in flight say so (the answer goes on in another chat)."""
        answering = self.app.core.chat.answering()
        for row in range(self.list.count()):
            item = self.list.item(row)
            busy = item.data(_ID) in answering
            item.setIcon(theme.icon("spark" if busy else "chat", "accent" if busy else "muted"))
            title = item.data(_TITLE)
            item.setText(f"{title} · answering…" if busy else title)
            item.setToolTip(f"{title}\nAnswering…" if busy else title)

    def select(self, session_id: str | None) -> None:
        """The window shows ``session_id`` (None: a temporary chat): highlight it."""
        self.shown_id = session_id
        self._highlight()

    def _highlight(self) -> None:
        """Highlight the chat shown, and no other row."""
        self.list.clearSelection()
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(_ID) == self.shown_id:
                self.list.setCurrentItem(item)
                return
        self.list.setCurrentRow(-1)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _fill(self) -> None:
        query = self.search.text().strip().lower()
        self.list.clear()
        for session in self.sessions:
            if query and query not in session.title.lower() and not (
                    self._content_hits and session.id in self._content_hits):
                continue
            item = QListWidgetItem(theme.icon("chat", "muted"), session.title)
            item.setData(_ID, session.id)
            item.setData(_TITLE, session.title)
            item.setToolTip(session.title)
            self.list.addItem(item)
        empty = not self.list.count()
        self.placeholder.setText("No chat matches." if query else
                                 "No chats yet: ask something to start one.")
        self.placeholder.setVisible(empty)
        self.list.setVisible(not empty)
        self._mark_answering()
        self._highlight()

    def _search_changed(self, _text: str) -> None:
        self._content_hits = None
        self._fill()
        if self.search.text().strip():
            self._search_timer.start()

    def _search_contents(self) -> None:
        """Also match chats by what was said in them, by meaning and by words."""
        query = self.search.text().strip()
        if not self.app.is_ready or not query:
            return

        def found(ids: list[str]) -> None:
            if self.search.text().strip() == query:
                self._content_hits = set(ids)
                self._fill()

        # Only chats that use the words or are close in meaning: nearest neighbours alone
        # would match every chat.
        chat = self.app.core.chat
        BackgroundOp(self, lambda: chat.find(query),
                     found).run(self.app.tasks, "db")

    def _menu(self, point: QPoint) -> None:
        item = self.list.itemAt(point)
        self._highlight()  # the right-click moved the highlight; the chat shown did not change
        if item is None:
            return
        menu = QMenu(self)
        menu.addAction(theme.icon("edit", "text"), "Rename…",
                       lambda: self.rename(item.data(_ID), item.data(_TITLE)))
        menu.addAction(theme.icon("trash", "danger"), "Delete",
                       lambda: self.delete(item.data(_ID)))
        menu.popup(self.list.viewport().mapToGlobal(point))

    def rename(self, session_id: str, current: str) -> None:
        """Ask for a new title (a non-blocking dialog) and store it."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename chat")
        dialog.setLabelText("Title")
        dialog.setTextValue(current)
        # Wide enough to show the title whole (Qt's default showed a third of a long one).
        field = dialog.findChild(QLineEdit)
        if field is not None:
            field.ensurePolished()  # measured in the font the stylesheet gives it
            width = field.fontMetrics().horizontalAdvance(current) + 30  # with its padding
            field.setMinimumWidth(min(max(RENAME_MIN_WIDTH, width), RENAME_MAX_WIDTH))
        dialog.textValueSelected.connect(lambda title: self.apply_rename(session_id, title))
        dialog.open()

    def apply_rename(self, session_id: str, title: str) -> None:
        chat = self.app.core.chat
        if not self.app.is_ready or not title.strip():
            return

        def done(_change: Any) -> None:
            self.renamed.emit(session_id, title.strip())

        BackgroundOp(self, lambda: chat.rename(session_id, title),
                     done).run(self.app.tasks, "db")

    def delete(self, session_id: str) -> None:
        """Delete a chat and its messages; a copy is kept in memory for a few seconds, so that
        the deletion can be undone (see :meth:`restore`)."""
        chat = self.app.core.chat
        if not self.app.is_ready:
            return

        def work() -> dict[str, Any]:
            return chat.take_out(session_id)

        def done(copy: dict[str, Any]) -> None:
            self.deleted.emit(session_id)
            self.undoable.emit(f"Deleted “{copy['title']}”.", lambda: self.restore(copy))

        BackgroundOp(self, work, done).run(self.app.tasks, "db")

    def restore(self, copy: dict[str, Any]) -> None:
        """Store a deleted chat again from its copy (Undo)."""
        chat = self.app.core.chat
        # The change it publishes refills the list; the highlight stays on the chat shown.
        BackgroundOp(self, lambda: chat.import_(copy)).run(self.app.tasks, "db")
