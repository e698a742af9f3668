"""Layout checks on real widgets: text cut short, content wider than its view, windows off-screen.

Used by the offscreen tests and by the probe that runs the app under Xvfb with a window manager.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QScrollArea, QWidget

SLACK = 2  # pixels of rounding


def _shown(widget: QWidget, root: QWidget) -> bool:
    return widget.isVisibleTo(root) and widget.width() > 0


def cut_texts(root: QWidget) -> list[str]:
    """Labels, buttons and placeholders of ``root`` whose text does not fit their width."""
    problems: list[str] = []
    for label in root.findChildren(QLabel):
        text = label.text()
        rich = label.textFormat() == Qt.TextFormat.RichText or "<" in text
        if not _shown(label, root) or not text or label.wordWrap() or rich:
            continue
        need = max(label.fontMetrics().horizontalAdvance(line) for line in text.splitlines())
        room = label.contentsRect().width() - 2 * label.margin() - max(label.indent(), 0)
        if need > room + SLACK:
            problems.append(f"label “{text}” needs {need} px, has {room}")
    for button in root.findChildren(QAbstractButton):
        if _shown(button, root) and button.text() and \
                button.width() + SLACK < button.sizeHint().width():
            problems.append(f"button “{button.text()}” is {button.width()} px wide, needs "
                            f"{button.sizeHint().width()}")
    for edit in root.findChildren(QLineEdit):
        hint = edit.placeholderText()
        if _shown(edit, root) and hint and not edit.text():
            # the frame's padding, the leading icon and the clear button take about 48 px
            need = edit.fontMetrics().horizontalAdvance(hint) + 48
            if need > edit.width() + SLACK:
                problems.append(f"placeholder “{hint}” needs {need} px, has {edit.width()}")
    return problems


def overflowing_views(root: QWidget) -> list[str]:
    """Scroll areas of ``root`` whose content is wider than the view (clipped on the right)."""
    problems = []
    for area in root.findChildren(QScrollArea):
        inner = area.widget()
        if _shown(area, root) and inner is not None and \
                inner.width() > area.viewport().width() + SLACK:
            problems.append(f"{area.objectName() or type(area.parent()).__name__}: content "
                            f"{inner.width()} px in a {area.viewport().width()} px view")
    return problems


def off_screen(window: QWidget) -> list[str]:
    """Whether ``window``, frame included, is larger than its screen's available area."""
    screen = (window.screen() or QGuiApplication.primaryScreen()).availableGeometry()
    frame = window.frameGeometry()
    problems = []
    if frame.width() > screen.width() + SLACK or frame.height() > screen.height() + SLACK:
        problems.append(f"{window.windowTitle()}: {frame.width()}×{frame.height()} on a "
                        f"{screen.width()}×{screen.height()} screen")
    return problems
