"""The system tray icon and its menu, where the desktop has a tray.

The menu is a plain object with one attribute per action, so that the shell wires it and tests
trigger its actions without a tray host. The tooltip says what the app is doing: loading,
indexing a folder (with its progress), or ready, and what is paused.

The two pause switches have no icon: a menu item with an icon draws no check mark, so their
state showed nowhere. Their label also says what a click does ("Resume memory" while paused).
"""

from __future__ import annotations

from ui import theme
from ui.qt import (
    QAction,
    QApplication,
    QMenu,
    QObject,
    QRect,
    QSystemTrayIcon,
    QTimer,
    QWidget,
    Signal,
)

NOTICE_MS = 6000
# Switches: ticked while paused ("Pause memory ✓"), as a desktop's own toggles read.
PAUSE_LABELS = {"memory": "Pause memory", "watching": "Pause folder watching"}


def tray_available() -> bool:
    """Whether this desktop shows tray icons (GNOME needs the AppIndicator extension)."""
    return QSystemTrayIcon.isSystemTrayAvailable()


class TrayMenu(QMenu):
    """Quick ask, Open Loremind, Pause memory, Pause folder watching, Quit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icons: dict[QAction, str] = {}
        self.quick_ask = self._action("spark", "Quick ask…")
        self.open_window = self._action("chat", "Open Loremind")
        self.addSeparator()
        self.pause_memory = self._switch("memory")
        self.pause_memory.setToolTip("While paused, chats neither use nor propose memories")
        self.pause_watching = self._switch("watching")
        self.addSeparator()
        self.quit = self._action("close", "Quit Loremind")
        self.setToolTipsVisible(True)

    def _action(self, icon: str, text: str) -> QAction:
        action = self.addAction(theme.icon(icon, "text"), text)
        self._icons[action] = icon
        return action

    def _switch(self, what: str) -> QAction:
        action = self.addAction(PAUSE_LABELS[what])
        action.setCheckable(True)
        return action

    def show_paused(self, what: str, paused: bool) -> None:
        """Tick ``memory`` or ``watching``'s switch while it is paused."""
        action = self.pause_memory if what == "memory" else self.pause_watching
        action.setChecked(paused)

    def retheme(self) -> None:
        """Set the icons again after a theme switch: a desktop's tray host shows the menu as
        exported, icons as they were when set (a menu drawn by Qt follows by itself)."""
        for action, icon in self._icons.items():
            action.setIcon(theme.icon(icon, "text"))

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

    def notify(self, message: str, msecs: int = NOTICE_MS) -> None:
        """A short balloon from the icon, closed after ``msecs`` even under the pointer (Qt's
        own balloon stays while the pointer is on it, over whatever opened beside it)."""
        self.icon.showMessage("Loremind", message, theme.logo(), msecs)
        QTimer.singleShot(msecs, self, close_notices)

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


def close_notices() -> None:
    """Close Qt's fallback balloon (drawn where the desktop has no notification service)."""
    for widget in QApplication.topLevelWidgets():
        if widget.metaObject().className() == "QBalloonTip" and widget.isVisible():
            widget.close()
