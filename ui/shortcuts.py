"""Every keyboard shortcut in one list, and the sheet that shows them (Ctrl+/).

The main window registers its shortcuts from :data:`WINDOW_SHORTCUTS`, so the sheet cannot
forget one; keys handled inside a widget (the message box, quick ask) are listed beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ui.message_widgets import label
from ui.qt import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QKeySequence,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class Shortcut:
    """Keys, what they do, and the main window's method they call."""

    keys: str
    does: str
    slot: str


WINDOW_SHORTCUTS = (
    Shortcut("Ctrl+N", "New chat", "new_chat"),
    Shortcut("Ctrl+Shift+N", "New temporary chat (never saved)", "new_temporary_chat"),
    Shortcut("Ctrl+K", "Search chats", "focus_search"),
    Shortcut("Ctrl+E", "Export this chat", "export_chat"),
    Shortcut("Ctrl+Shift+,", "This chat's settings", "open_chat_settings"),
    Shortcut("Ctrl+,", "Settings", "open_settings"),
    Shortcut("Ctrl+/", "Keyboard shortcuts", "show_shortcuts"),
    Shortcut("Esc", "Stop the answer", "stop_answer"),
)
WIDGET_KEYS = (
    ("Enter", "Send the message"),
    ("Shift+Enter", "A new line in the message"),
    ("Esc", "Hide quick ask (in quick ask)"),
)


def native(keys: str) -> str:
    """``keys`` as this platform writes them (Ctrl becomes ⌘ on macOS)."""
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)


class ShortcutSheet(QDialog):
    """A two-column list of every shortcut."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 14)
        layout.addWidget(label("Keyboard shortcuts", "PanelTitle"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(8)
        rows = [(native(s.keys), s.does) for s in WINDOW_SHORTCUTS] + \
            [(native(keys), does) for keys, does in WIDGET_KEYS]
        self.rows: list[tuple[str, str]] = rows
        for row, (keys, does) in enumerate(rows):
            grid.addWidget(label(keys, "ShortcutKeys"), row, 0)
            grid.addWidget(label(does), row, 1)
        layout.addLayout(grid)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
