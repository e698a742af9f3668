"""The main window: chats on the left, the conversation in the middle, a panel on the right.

It only arranges widgets and routes signals; the Assistant does the work. The window can be
shown and raised from elsewhere (a tray icon or a second launch, later) with :meth:`bring_up`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ui import theme
from ui.chat_view import ChatView
from ui.errors import set_error_sink
from ui.message_widgets import label, tool_button
from ui.panels.adapters import AdaptersPanel
from ui.qt import (
    QButtonGroup,
    QCloseEvent,
    QEvent,
    QFrame,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QMainWindow,
    QObject,
    QProgressBar,
    QResizeEvent,
    QShortcut,
    QSize,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from ui.shortcuts import WINDOW_SHORTCUTS
from ui.sidebar import Sidebar
from ui.tasks import BackgroundOp
from ui.undo_bar import UndoBar
from ui.window_actions import WindowActions, fitted_size

if TYPE_CHECKING:
    from assistant.core import Change, ChatSession
    from ui.app import LoremindApp
    from ui.panels.base import Panel

COMPACT_HEADER_WIDTH = 820  # below this chat-area width the panel toggles show icons only
PANELS = (("adapters", "Adapters"), ("knowledge", "Knowledge"), ("memory", "Memory"),
          ("models", "Models"))


class ErrorBanner(QFrame):
    """Errors shown in the window, above the chat, until dismissed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 6, 8)
        icon = QLabel()
        icon.setPixmap(theme.icon("warning", "danger").pixmap(18, 18))
        self.text = label("", "BannerText", wrap=True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = tool_button("close", "Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, message: str, details: str = "") -> None:
        self.text.setText(message)
        self.text.setToolTip(details[-2000:] if details else "")
        self.show()


# The narrowest the chat column gets while the chat list is shown beside it and a panel.
CHAT_MIN_WIDTH = 480


class MainWindow(WindowActions, QMainWindow):
    """Loremind's window; holds no state of its own beyond what is on screen."""

    def __init__(self, app: LoremindApp) -> None:
        super().__init__()
        self.app = app
        self.setWindowTitle("Loremind")
        self.resize(fitted_size(QSize(1280, 820), self.screen().availableGeometry().size()))
        self.sidebar = Sidebar(app)
        self.chat = ChatView(app)
        self.banner = ErrorBanner()
        set_error_sink(self.banner.show_message)
        self.panels = QStackedWidget()
        self.panels.setObjectName("Panel")
        self.panels.setMinimumWidth(340)
        self.panel_buttons = QButtonGroup(self)
        self.panel_buttons.setExclusive(False)
        self._panel_widgets: dict[str, Panel] = {}
        splitter = QSplitter()
        splitter.setHandleWidth(1)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self._chat_area())
        splitter.addWidget(self.panels)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 760, 380])
        self.panels.hide()
        self.setCentralWidget(splitter)
        self._status_bar()
        self._wire()
        self._shortcuts()
        self.chat.composer.setEnabled(False)  # until the model is ready: see _ready

    # -- building ------------------------------------------------------------------------------

    def _chat_area(self) -> QWidget:
        area = QWidget()
        area.setObjectName("ChatArea")
        layout = QVBoxLayout(area)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        header = QFrame()
        header.setObjectName("Header")
        row = QHBoxLayout(header)
        row.setContentsMargins(20, 10, 12, 10)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.title = label("", "HeaderTitle")
        self.subtitle = label("", "HeaderSubtitle")
        self._header_texts: dict[QLabel, str] = {}
        for line in (self.title, self.subtitle):
            # One line each, cut with "…" to the room left and whole in the tooltip: wrapped,
            # a long title took three lines in the smallest window and a model name broke
            # mid-word; at its full width, it would widen the window.
            line.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            line.installEventFilter(self)  # cut again to each new width
            titles.addWidget(line)
        self.set_header_text(self.title, "New chat")
        row.addLayout(titles, 1)
        for key, text in PANELS:
            button = QToolButton()
            button.setObjectName("PanelToggle")
            button.setCheckable(True)
            button.setIcon(theme.icon(key, "muted"))
            button.setText(text)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setProperty("panel", key)
            self.panel_buttons.addButton(button)
            row.addWidget(button)
        self.settings_button = tool_button("settings", "Settings (Ctrl+,)")
        self.settings_button.setIcon(theme.icon("settings", "muted"))
        row.addWidget(self.settings_button)
        self.more_button = tool_button("more", "More: this chat's settings, export, import, "
                                       "keyboard shortcuts (Ctrl+/)")
        self.more_button.setIcon(theme.icon("more", "muted"))
        self.more_button.setObjectName("MoreButton")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more_button.setMenu(self.more_menu(self.more_button))
        row.addWidget(self.more_button)
        layout.addWidget(header)
        self.undo_bar = UndoBar()
        banner_row = QVBoxLayout()
        banner_row.setContentsMargins(20, 10, 20, 0)
        banner_row.addWidget(self.banner)
        banner_row.addWidget(self.undo_bar)
        layout.addLayout(banner_row)
        layout.addWidget(self.chat, 1)
        area.installEventFilter(self)  # its width decides whether the toggles show their names
        self._area = area
        return area

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            if watched is getattr(self, "_area", None):
                self._fit_header()
            elif isinstance(watched, QLabel) and watched in self._header_texts:
                self._elide(watched)
        return super().eventFilter(watched, event)

    def set_header_text(self, line: QLabel, text: str) -> None:
        """Show ``text`` in the header's title or subtitle, cut to one line when too long."""
        self._header_texts[line] = text
        self._elide(line)

    def header_text(self, line: QLabel) -> str:
        """The whole text of the header's title or subtitle (the label may show it cut)."""
        return self._header_texts[line]

    def _elide(self, line: QLabel) -> None:
        text = self._header_texts[line]
        shown = line.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                               line.contentsRect().width())
        line.setText(shown)
        line.setToolTip(text if shown != text else "")

    def _fit_header(self) -> None:
        """Panel toggles with their names when the chat area is wide, icons alone when a panel
        makes it narrow: named toggles squeezed the chat title into a column of single words."""
        compact = self._area.width() < COMPACT_HEADER_WIDTH
        style = (Qt.ToolButtonStyle.ToolButtonIconOnly if compact
                 else Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for button in self.panel_buttons.buttons():
            if isinstance(button, QToolButton) and button.toolButtonStyle() != style:
                button.setToolButtonStyle(style)
                button.setToolTip(button.text())

    def _status_bar(self) -> None:
        self._status = ("Starting…", True)  # the app's last word
        self._shown_status = self._status  # what the bar says, under any indexing progress
        self._indexing_text = ""
        self.status_text = label("Starting…")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setFixedWidth(140)
        self.progress.setTextVisible(False)
        bar = self.statusBar()
        bar.addWidget(self.status_text, 1)
        bar.addPermanentWidget(self.progress)

    def _wire(self) -> None:
        self.app.status.connect(self.set_status)
        self.app.answering.connect(self._answering)
        self.app.ready.connect(self._ready)
        self.app.changed.connect(self._changed)
        self.sidebar.open_requested.connect(self.open_chat)
        self.sidebar.new_requested.connect(self.new_chat)
        self.sidebar.deleted.connect(self._deleted)
        self.sidebar.renamed.connect(self._renamed)
        self.sidebar.undoable.connect(self.undo_bar.offer)
        self.app.indexing_progress.connect(self._indexing)
        self.chat.session_updated.connect(self._session_updated)
        self.chat.busy_changed.connect(self._chat_busy)
        self.panel_buttons.buttonToggled.connect(self._panel_toggled)
        self.settings_button.clicked.connect(self.open_settings)

    def _shortcuts(self) -> None:
        for spec in WINDOW_SHORTCUTS:  # the shortcut sheet lists the same table
            shortcut = QShortcut(QKeySequence(spec.keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(getattr(self, spec.slot))

    # -- state ---------------------------------------------------------------------------------

    def set_status(self, message: str, busy: bool) -> None:
        self._status = (message, busy)
        if self.chat.busy and not busy and message.startswith("Ready"):
            return  # the chat is answering: "Ready" comes back once it is done
        self._show_status(message, busy)

    def _chat_busy(self, busy: bool) -> None:
        """While the chat shown answers, the status bar says so, then goes back."""
        self._show_status(*(("Answering…", True) if busy else self._status))

    def _show_status(self, message: str, busy: bool) -> None:
        self._shown_status = (message, busy)
        if not self._indexing_text:
            self.status_text.setText(message)
            self.progress.setVisible(busy)

    def _indexing(self, progress: str) -> None:
        """While folders are indexed the status bar says so (not "Ready"), then goes back."""
        self._indexing_text = progress
        message, busy = (progress, True) if progress else self._shown_status
        self.status_text.setText(message)
        self.progress.setVisible(busy)

    def _answering(self) -> None:
        """The model is loaded: take questions at once (documents and memories follow)."""
        if self.chat.session is None:
            self.new_chat()
        if not self.chat.composer.isEnabled():
            self.chat.composer.setEnabled(True)
            self.chat.composer.edit.setFocus()
        self._update_subtitle()

    def _ready(self) -> None:
        self._answering()  # also when the model failed: asking then says why
        self.sidebar.refresh()
        self._update_subtitle()
        for widget in self._panel_widgets.values():
            widget.refresh()

    def _changed(self, change: Change) -> None:
        from assistant.core import Area

        if change.about(Area.SETTINGS, Area.MODEL, Area.ADAPTERS):
            self._update_subtitle()

    def _update_subtitle(self) -> None:
        name = self.app.core.models.loaded_name if self.app.takes_questions else None
        parts = [name or "no model loaded"]
        session = self.chat.session
        if session is not None and session.adapters:
            parts.append(", ".join(f"{a['name']}×{a['scale']:g}" for a in session.adapters))
        if session is not None and session.temporary:
            parts.insert(0, "Temporary: not saved, nothing remembered")
        self.set_header_text(self.subtitle, " · ".join(parts))

    def new_chat(self, temporary: bool = False) -> None:
        """Start a new chat (it is stored once the first message is sent, unless temporary)."""
        self.chat.show_session(self.app.core.chat.new_session(temporary=temporary))
        self._session_shown()

    def open_chat(self, session_id: str) -> None:
        """Load a stored chat on the db lane and show it."""
        chat = self.app.core.chat
        if not self.app.is_ready or (self.chat.session and self.chat.session.id == session_id):
            return

        def shown(session: ChatSession) -> None:
            self.chat.show_session(session)
            self._session_shown()
            if session.damaged:  # parts an older version stored malformed are left out
                self.app.status.emit(f"Part of this chat could not be read and is not shown: "
                                     f"{session.damaged[0]}", False)

        BackgroundOp(self, lambda: chat.get(session_id),
                     shown).run(self.app.tasks, "db")

    def _session_shown(self) -> None:
        session = self.chat.session
        assert session is not None
        self.set_header_text(self.title, "Temporary chat"
                             if session.temporary and not session.messages else session.title)
        self.sidebar.select(None if session.temporary else session.id)
        self._update_subtitle()
        panel = self._panel_widgets.get("adapters")
        if isinstance(panel, AdaptersPanel):
            panel.show_session(session)

    def _session_updated(self, session: ChatSession) -> None:
        if session is self.chat.session:
            self.set_header_text(self.title, session.title if not session.temporary
                                 else "Temporary chat")
            self._update_subtitle()  # a chat on a read-only library turned temporary
            self.sidebar.select(None if session.temporary else session.id)
        if not session.temporary:
            self.sidebar.refresh()  # the highlight stays on the chat shown

    def _renamed(self, session_id: str, title: str) -> None:
        session = self.chat.session
        if session is not None and session.id == session_id:
            session.title = title
            self.set_header_text(self.title, title)

    def _deleted(self, session_id: str) -> None:
        if self.chat.session is not None and self.chat.session.id == session_id:
            self.new_chat()

    # -- panels and dialogs --------------------------------------------------------------------

    def show_panel(self, key: str | None) -> None:
        """Show the panel ``key`` on the right (None hides the panels)."""
        for button in self.panel_buttons.buttons():
            button.blockSignals(True)
            button.setChecked(button.property("panel") == key)
            button.blockSignals(False)
        if key is None:
            self.panels.hide()
        else:
            self.panels.setCurrentWidget(self.panel(key))
            self.panels.show()
        self._fit_columns()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """In a narrow window with a panel open, the chat list gives way to the chat: with
        all three columns at the smallest size the chat kept a third of the window, its
        title cut to one letter and its answers to a few words a line."""
        room = self.width() - (self.panels.minimumWidth() if self.panels.isVisible() else 0)
        self.sidebar.setVisible(room - self.sidebar.minimumWidth() >= CHAT_MIN_WIDTH)

    def panel(self, key: str) -> Any:
        """The panel ``key``, created on first use."""
        if key not in self._panel_widgets:
            from ui.panels import create_panel

            widget = create_panel(key, self.app, self)
            self._panel_widgets[key] = widget
            self.panels.addWidget(widget)
            if self.app.is_ready:
                widget.refresh()
            if isinstance(widget, AdaptersPanel) and self.chat.session is not None:
                widget.show_session(self.chat.session)
            undoable = getattr(widget, "undoable", None)  # the Memory and Knowledge panels
            if undoable is not None:
                undoable.connect(self.undo_bar.offer)
        return self._panel_widgets[key]

    def _panel_toggled(self, button: QToolButton, checked: bool) -> None:
        self.show_panel(button.property("panel") if checked else None)

    def open_settings(self) -> Any:
        """Open the settings dialog (non-blocking); returns it."""
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.app, self)
        dialog.open()
        return dialog

    def show_chat(self, session: ChatSession) -> None:
        """Show a chat begun elsewhere (in quick ask) and raise the window to continue it."""
        self.chat.show_session(session)
        self._session_shown()
        self.sidebar.refresh()
        self.bring_up()

    def bring_up(self) -> None:
        """Show, un-minimise and raise the window."""
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        # An answer in flight goes on (in the tray); quitting stops it with the core.
        set_error_sink(None)
        super().closeEvent(event)
