"""Show the tray's notice with the pointer on it, then open quick ask over it; report whether it
went away each time (run under X with a tray, LOREMIND_HOME set to a fresh folder).

Usage: ``python -m tests.ui.balloon_close_probe RESULT.json``. Where the desktop has no
notification service, Qt draws the notice itself (a ``QBalloonTip``), which stays for as long as
the pointer rests on it; quick ask opened beside it had its header buttons covered.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication, QWidget

from assistant.config import Settings
from assistant.defaults import force_offline
from assistant.paths import app_paths

NOTICE_MS = 1500


def balloon(app: QApplication) -> QWidget | None:
    return next((widget for widget in app.topLevelWidgets()
                 if widget.metaObject().className() == "QBalloonTip" and widget.isVisible()),
                None)


def wait(app: QApplication, done: Callable[[], Any], seconds: float) -> bool:
    """Run the event loop until ``done()`` or ``seconds`` have passed; returns ``done()``."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    return bool(done())


def main() -> None:
    from assistant.core import Loremind
    from ui.app import LoremindApp
    from ui.main_window import MainWindow
    from ui.shell import DesktopShell
    from ui.theme import apply_theme

    force_offline()
    app = QApplication(sys.argv[:1])
    apply_theme(app, "light")
    core = Loremind(app_paths().ensure(), Settings())  # nothing loads: the shell needs no model
    gui = LoremindApp(core, watch_folders=False)
    window = MainWindow(gui)
    shell = DesktopShell(gui, window)
    found: dict[str, object] = {"tray": shell.tray is not None}
    if shell.tray is not None:
        tray = shell.tray
        wait(app, lambda: not tray.geometry().isEmpty(), 10)  # docked: the balloon moves no more
        wait(app, lambda: False, 0.5)
        tray.notify("Loremind keeps running in the tray.", NOTICE_MS)
        shown = balloon(app) if wait(app, lambda: balloon(app), 10) else None
        found["shown"] = shown is not None
        if shown is not None:
            QCursor.setPos(shown.geometry().center())
            found["under_pointer"] = wait(app, shown.underMouse, 3)
            wait(app, lambda: False, NOTICE_MS / 1000 + 1)
            found["stays_under_pointer"] = balloon(app) is not None
        shell.tray.notify("Loremind keeps running in the tray.")
        found["shown_again"] = wait(app, lambda: balloon(app), 10)
        shell.show_popup()
        wait(app, lambda: False, 0.3)
        found["stays_over_quick_ask"] = balloon(app) is not None
        found["quick_ask"] = shell.popup.isVisible()
        shell.popup.hide()
        shell.tray.hide()
    gui.shutdown()
    Path(sys.argv[1]).write_text(json.dumps(found), encoding="utf-8")


if __name__ == "__main__":
    main()
