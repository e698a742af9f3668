"""The system tray icon and its menu, where the desktop has a tray.

The menu is a plain object with one attribute per action, so that the shell wires it and tests
trigger its actions without a tray host. The tooltip says what the app is doing: loading,
indexing a folder (with its progress), or ready, and what is paused.
"""

from __future__ import annotations

from ui import theme
from ui.qt import QAction, QMenu, QObject, QRect, QSystemTrayIcon, QWidget, Signal


def tray_available() -> bool:
    """Whether this desktop shows tray icons (GNOME needs the AppIndicator extension)."""
    return QSystemTrayIcon.isSystemTrayAvailable()


class TrayMenu(QMenu):
    """Quick ask, Open Loremind, Pause memory, Pause folder watching, Quit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.quick_ask = self._action("spark", "Quick ask…")
        self.open_window = self._action("chat", "Open Loremind")
        self.addSeparator()
        self.pause_memory = self._action("memory", "Pause memory", checkable=True)
        self.pause_memory.setToolTip("While paused, chats neither use nor propose memories")
        self.pause_watching = self._action("folder", "Pause folder watching", checkable=True)
        self.addSeparator()
        self.quit = self._action("close", "Quit Loremind")
        self.setToolTipsVisible(True)

    def _action(self, icon: str, text: str, checkable: bool = False) -> QAction:
        action = self.addAction(theme.icon(icon, "text", 16), text)
        action.setCheckable(checkable)
        return action

    def set_ready(self, ready: bool) -> None:
        """The pause switches need the database and the watcher: off until the app is ready."""
        self.pause_memory.setEnabled(ready)
        self.pause_watching.setEnabled(ready)


class Tray(QObject):
    """The icon in the tray: a click opens quick ask, the menu holds the rest."""

    clicked = Signal()

    def __init__(self, menu: TrayMenu, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.menu = menu
        self.icon = QSystemTrayIcon(theme.logo(), self)
        self.icon.setContextMenu(menu)
        self.icon.activated.connect(self._activated)
        self._status = "Starting…"
        self._indexing = ""
        self._paused: dict[str, bool] = {"memory": False, "watching": False}
        self._update_tooltip()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def geometry(self) -> QRect:
        """Where the icon is on screen (empty where the platform doesn't say)."""
        return self.icon.geometry()

    def notify(self, message: str) -> None:
        """A short balloon from the icon."""
        self.icon.showMessage("Loremind", message, theme.logo(), 6000)

    def set_status(self, message: str, _busy: bool = False) -> None:
        self._status = message
        self._update_tooltip()

    def set_indexing(self, progress: str) -> None:
        """Show indexing progress ("" when indexing is over)."""
        self._indexing = progress
        self._update_tooltip()

    def set_paused(self, what: str, paused: bool) -> None:
        """Mention in the tooltip that ``memory`` or ``watching`` is paused."""
        self._paused[what] = paused
        self._update_tooltip()

    @property
    def tooltip(self) -> str:
        return self.icon.toolTip()

    def _update_tooltip(self) -> None:
        lines = ["Loremind", self._indexing or self._status]
        if self._paused["memory"]:
            lines.append("Memory paused")
        if self._paused["watching"]:
            lines.append("Folder watching paused")
        self.icon.setToolTip("\n".join(line for line in lines if line))

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.clicked.emit()
