"""What the main window's menu and shortcuts do beyond showing chats: export and import a
chat, this chat's settings, the shortcut sheet, and a window size that fits the screen.

A mixin of :class:`ui.main_window.MainWindow`, kept apart so that the window module stays about
arranging widgets; the work itself is in :mod:`assistant.chat.export` and the core.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ui.qt import QFileDialog, QMenu, QSize, QToolButton, QWidget
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from ui.app import LoremindApp
    from ui.chat_view import ChatView
    from ui.sidebar import Sidebar
    from ui.undo_bar import UndoBar

# What a window manager adds around the window (title bar, borders), which Qt only learns once
# the window is shown: leave room for it, or the window opens taller than the screen.
FRAME_ALLOWANCE = QSize(16, 48)


def fitted_size(wanted: QSize, available: QSize) -> QSize:
    """``wanted``, shrunk to fit ``available`` with the window manager's frame around it."""
    return QSize(min(wanted.width(), available.width() - FRAME_ALLOWANCE.width()),
                 min(wanted.height(), available.height() - FRAME_ALLOWANCE.height()))


class WindowActions:
    """Menu and shortcut actions of the main window."""

    app: LoremindApp
    chat: ChatView
    sidebar: Sidebar
    undo_bar: UndoBar

    new_chat: Callable[..., None]
    open_chat: Callable[[str], None]
    open_settings: Callable[[], Any]

    @property
    def _window(self) -> QWidget:
        return cast("QWidget", self)

    def more_menu(self, button: QToolButton) -> QMenu:
        """The ⋯ menu: this chat, export and import, shortcuts, settings."""
        menu = QMenu(button)
        menu.addAction("This chat's settings…\tCtrl+Shift+,", self.open_chat_settings)
        menu.addAction("Export this chat…\tCtrl+E", self.export_chat)
        menu.addAction("Import a chat…", self.import_chat)
        menu.addSeparator()
        menu.addAction("Keyboard shortcuts\tCtrl+/", self.show_shortcuts)
        menu.addAction("Settings…\tCtrl+,", self.open_settings)
        return menu

    def new_temporary_chat(self) -> None:
        self.new_chat(True)

    def focus_search(self) -> None:
        self.sidebar.focus_search()

    def stop_answer(self) -> None:
        self.chat.stop()

    def show_shortcuts(self) -> Any:
        """Open the sheet of every keyboard shortcut; returns it."""
        from ui.shortcuts import ShortcutSheet

        sheet = ShortcutSheet(self._window)
        sheet.open()
        return sheet

    def open_chat_settings(self) -> Any:
        """Open this chat's settings; saving stores them with the chat (db lane)."""
        from ui.chat_settings_dialog import ChatSettingsDialog

        session = self.chat.session
        if session is None:
            return None
        dialog = ChatSettingsDialog(session, self.app.settings.generation,
                                    list(self.app.settings.knowledge.folders), self._window)

        def saved(chosen: Any) -> None:
            session.settings = chosen
            chat = self.app.core.chat
            BackgroundOp(self._window, lambda: chat.save_settings(session)).run(
                self.app.tasks, "db")

        dialog.saved.connect(saved)
        dialog.open()
        return dialog

    def export_chat(self, path: str = "") -> None:
        """Save the chat on screen as Markdown or JSON (the file type picks which)."""
        session = self.chat.session
        if session is None or not session.messages:
            self.app.status.emit("Nothing to export yet: this chat is empty.", False)
            return
        if not path:
            name = "".join(c if c.isalnum() or c in " -_" else "_" for c in session.title)
            path, _ = QFileDialog.getSaveFileName(
                self._window, "Export this chat",
                str(Path.home() / f"{name.strip() or 'chat'}.md"),
                "Markdown (*.md);;JSON, to import again (*.json)")
        if not path:
            return
        chat = self.app.core.chat
        BackgroundOp(self._window, lambda: chat.export(session, Path(path)),
                     lambda written: self.app.status.emit(f"Exported to {written}.", False)
                     ).run(self.app.tasks, "db")

    def import_chat(self, path: str = "") -> None:
        """Store a chat exported as JSON and show it."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(self._window, "Import a chat",
                                                  str(Path.home()), "Loremind chat (*.json)")
        if not path or not self.app.is_ready:
            return
        chat = self.app.core.chat

        def shown(session: Any) -> None:
            self.open_chat(session.id)  # highlighted in the list once it is shown
            self.app.status.emit(f"Imported “{session.title}”.", False)

        BackgroundOp(self._window, lambda: chat.import_(Path(path)),
                     shown).run(self.app.tasks, "db")
