"""Show the tray's notice in the dark theme and report its colours (run under X with a tray).

Usage: ``python -m tests.ui.balloon_probe RESULT.json``. Where the desktop has no notification
service, Qt draws the notice itself (a ``QBalloonTip``) on pale yellow; the app's stylesheet
must not give its text the dark theme's light grey.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QSystemTrayIcon

from ui.theme import apply_theme, logo


def main() -> None:
    app = QApplication(sys.argv[:1])
    apply_theme(app, "dark")
    icon = QSystemTrayIcon(logo())
    icon.show()
    icon.showMessage("Loremind", "Loremind keeps running in the tray.", logo(), 6000)
    found: dict[str, object] = {"tray": QSystemTrayIcon.isSystemTrayAvailable()}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "background" not in found:
        app.processEvents()
        time.sleep(0.02)
        for widget in app.topLevelWidgets():
            if widget.metaObject().className() == "QBalloonTip" and widget.isVisible():
                found["background"] = widget.palette().color(QPalette.ColorRole.Window).name()
                found["texts"] = [label.palette().color(QPalette.ColorRole.WindowText).name()
                                  for label in widget.findChildren(QLabel) if label.text()]
    Path(sys.argv[1]).write_text(json.dumps(found), encoding="utf-8")


if __name__ == "__main__":
    main()
