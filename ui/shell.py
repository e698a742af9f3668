"""Loremind's life on the desktop: the tray, the quick-ask popup, close-to-tray, second launches.

The shell sits beside the main window and routes: a request from a second launch, a click in
the tray or a tray menu action becomes "raise the window", "open quick ask", "pause" or "quit".
Where the desktop has no tray, the app works without one and says so once (remembered in a
small state file next to the settings, as is where the window was and whether it was maximised).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.instance import Request
from ui.qt import QApplication, QEvent, QObject, QSettings, Qt
from ui.tasks import BackgroundOp
from ui.tray import Tray, TrayMenu, close_notices, tray_available

if TYPE_CHECKING:
    from assistant.core import Change, ChatSession
    from ui.app import LoremindApp
    from ui.main_window import MainWindow
    from ui.quick_ask import QuickAskPopup

NO_TRAY_NOTICE = ("This desktop has no system tray: Loremind runs as a window only. Bind "
                  "`loremind ask --popup` to a keyboard shortcut for quick questions.")
NO_TRAY_KEY = "notices/no_tray_shown"
GEOMETRY_KEY = "window/geometry"
MAXIMIZED_KEY = "window/maximized"


class DesktopShell(QObject):
    """Owns the tray icon and the popup, and decides what closing the window means."""

    def __init__(self, app: LoremindApp, window: MainWindow) -> None:
        super().__init__()
        self.app = app
        self.window = window
        self.state = QSettings(str(app.paths.config_dir / "desktop-state.ini"),
                               QSettings.Format.IniFormat)
        self._popup: QuickAskPopup | None = None
        self._quitting = False
        self._told_about_tray = False
        self.menu: TrayMenu | None = None
        self.tray: Tray | None = None
        if tray_available():
            self._build_tray()
        window.installEventFilter(self)

    def _build_tray(self) -> None:
        self.menu = menu = TrayMenu()
        menu.quick_ask.triggered.connect(lambda: self.show_popup())
        menu.open_window.triggered.connect(self.show_window)
        menu.pause_memory.triggered.connect(self.set_memory_paused)
        menu.pause_watching.triggered.connect(self.set_watching_paused)
        menu.quit.triggered.connect(self.quit)
        menu.aboutToShow.connect(self.refresh_menu)
        menu.set_ready(self.app.is_ready)
        self.tray = tray = Tray(menu, self)
        tray.clicked.connect(self.toggle_popup)
        self.app.status.connect(tray.set_status)
        self.app.indexing_progress.connect(tray.set_indexing)
        self.app.ready.connect(lambda: menu.set_ready(True))
        self.app.ready.connect(self.refresh_menu)
        self.app.changed.connect(self._changed)
        self.app.theme_changed.connect(menu.retheme)
        tray.show()

    @property
    def has_tray(self) -> bool:
        return self.tray is not None

    def start(self, minimized: bool = False) -> None:
        """Show the window where it was last (unless ``minimized`` and there is a tray to come
        back from: then it shows there when opened)."""
        geometry = self.state.value(GEOMETRY_KEY)
        if geometry:
            self.window.restoreGeometry(geometry)
        if self.state.value(MAXIMIZED_KEY, False, type=bool):
            self.window.setWindowState(self.window.windowState() | Qt.WindowState.WindowMaximized)
        if not (minimized and self.has_tray):
            self.window.show()
        if not self.has_tray:
            self.tell_no_tray()

    def save_geometry(self) -> None:
        """Remember where the window is and whether it is maximised, for the next start."""
        self.state.setValue(GEOMETRY_KEY, self.window.saveGeometry())
        self.state.setValue(MAXIMIZED_KEY, self.window.isMaximized())
        self.state.sync()

    def tell_no_tray(self) -> None:
        """Say once, ever, that there is no tray (shown in the status bar for a while)."""
        if self.state.value(NO_TRAY_KEY, False, type=bool):
            return
        self.window.statusBar().showMessage(NO_TRAY_NOTICE, 30_000)
        self.state.setValue(NO_TRAY_KEY, True)
        self.state.sync()

    # -- requests ------------------------------------------------------------------------------

    def handle(self, request: Request) -> None:
        """Do what a second launch asked for."""
        if request.action == "popup":
            self.show_popup(request.question)
        else:
            self.show_window()

    def show_window(self) -> None:
        self.window.bring_up()

    @property
    def popup(self) -> QuickAskPopup:
        """The quick-ask popup, built on first use."""
        if self._popup is None:
            from ui.quick_ask import QuickAskPopup

            self._popup = QuickAskPopup(self.app)
            self._popup.open_in_main.connect(self.continue_in_main)
            self._popup.chat.session_updated.connect(lambda _s: self.window.sidebar.refresh())
        return self._popup

    def show_popup(self, question: str = "") -> None:
        """Open quick ask near the tray icon (or the cursor); ask ``question`` if given."""
        close_notices()  # the tray's notice would cover the popup's header buttons
        anchor = self.tray.geometry() if self.tray is not None else None
        self.popup.open_near(anchor if anchor is not None and not anchor.isEmpty() else None)
        if question:
            self.popup.ask(question)

    def toggle_popup(self) -> None:
        if self._popup is not None and self._popup.isVisible():
            self._popup.hide()
        else:
            self.show_popup()

    def continue_in_main(self, session: ChatSession) -> None:
        """Show the popup's chat in the main window, where it goes on."""
        self.window.show_chat(session)

    # -- pausing -------------------------------------------------------------------------------

    def set_memory_paused(self, paused: bool) -> None:
        """Pause or resume memory (stored in the database: the CLI and panel see it too)."""
        if not self.app.is_ready:
            return
        memory = self.app.core.memory

        def done(_change: Any) -> None:
            self.app.status.emit("Memory paused: chats neither use nor propose memories."
                                 if paused else "Memory resumed.", False)

        BackgroundOp(self.window, lambda: memory.pause(paused), done).run(self.app.tasks, "db")

    def set_watching_paused(self, paused: bool) -> None:
        """Stop or restart following the watched folders."""
        self.app.pause_watching(paused)
        self._show_paused("watching", paused)
        self.app.status.emit("Folder watching paused." if paused else
                             "Folder watching resumed: catching up with changes.", False)

    def refresh_menu(self) -> None:
        """Read whether memory is paused (the memory panel or CLI may have changed it)."""
        if not self.app.is_ready or self.menu is None:
            return
        memory = self.app.core.memory
        BackgroundOp(self.window, lambda: memory.paused,
                     lambda paused: self._show_paused("memory", paused)).run(self.app.tasks, "db")
        self._show_paused("watching", self.app.watching_paused)

    def _changed(self, change: Change) -> None:
        from assistant.core import Area

        if change.about(Area.MEMORY) and change.action in ("paused", "resumed"):
            self._show_paused("memory", change.action == "paused")

    def _show_paused(self, what: str, paused: bool) -> None:
        if self.menu is None or self.tray is None:
            return
        self.menu.show_paused(what, paused)
        self.tray.set_paused(what, paused)

    # -- closing -------------------------------------------------------------------------------

    @property
    def closes_to_tray(self) -> bool:
        return self.has_tray and self.app.settings.ui.close_to_tray

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.window or event.type() != QEvent.Type.Close:
            return super().eventFilter(watched, event)
        self.save_geometry()  # whether it closes or hides in the tray
        if self._quitting or not self.closes_to_tray:
            return False
        event.ignore()
        self.window.hide()
        if not self._told_about_tray and self.tray is not None:
            self._told_about_tray = True
            self.tray.notify("Loremind keeps running in the tray. Quit it from its menu.")
        return True

    def quit(self) -> None:
        """Close everything and end the app (from the tray menu)."""
        self._quitting = True
        if self._popup is not None:
            self._popup.hide()
        self.window.close()
        if self.tray is not None:
            self.tray.hide()
        QApplication.quit()
