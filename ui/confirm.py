"""Asking before something that cannot be taken back (or only by Undo)."""

from __future__ import annotations

from ui.qt import QMessageBox, QWidget


def confirmed(parent: QWidget | None, title: str, text: str) -> bool:
    """Whether the user said Yes; Cancel is the default, so Enter never deletes by accident."""
    buttons = QMessageBox.StandardButton
    return QMessageBox.question(parent, title, text, buttons.Yes | buttons.Cancel,
                                buttons.Cancel) == buttons.Yes
