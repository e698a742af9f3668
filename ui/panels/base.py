"""What every side panel shares: a title, a hint, and a scrolling body."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ui.message_widgets import label
from ui.qt import QFrame, QListWidget, QScrollArea, Qt, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from assistant.core import Change
    from ui.app import LoremindApp


class Panel(QFrame):
    """A titled side panel; subclasses fill ``self.body`` and implement ``refresh``.

    A panel refreshes itself whenever the core announces a change in one of its ``areas``,
    wherever the change came from (this panel, the chat, the watcher, another process's file):
    an open panel never goes stale.
    """

    areas: tuple[str, ...] = ()  # the core's areas (``assistant.core.Area``) this panel shows

    def __init__(self, app: LoremindApp, title: str, hint: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        app.changed.connect(self._changed)
        self.setObjectName("Panel")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 14, 16, 14)
        outer.setSpacing(8)
        outer.addWidget(label(title, "PanelTitle"))
        outer.addWidget(label(hint, "Hint", wrap=True))
        self.body = QVBoxLayout()
        self.body.setSpacing(8)
        outer.addLayout(self.body, 1)

    def refresh(self) -> None:
        """Read what the panel shows again."""

    def _changed(self, change: Change) -> None:
        if change.area in self.areas and self.app.is_ready:
            self.refresh()


def scrolling(inner: QWidget) -> QScrollArea:
    """``inner`` in a frameless vertical scroll area."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(inner)
    return area


def wrapping_list() -> QListWidget:
    """A list whose long rows wrap, never scrolled sideways (see wrapsRows in app.qss)."""
    rows = QListWidget()
    rows.setWordWrap(True)
    rows.setProperty("wrapsRows", True)
    rows.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return rows
