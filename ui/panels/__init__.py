"""The side panels: adapters of the current chat, knowledge folders, memories, models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ui.qt import QWidget

if TYPE_CHECKING:
    from ui.app import LoremindApp
    from ui.panels.base import Panel


def create_panel(key: str, app: LoremindApp, parent: QWidget | None = None) -> Panel:
    """The panel called ``key``: ``adapters``, ``knowledge``, ``memory`` or ``models``."""
    if key == "adapters":
        from ui.panels.adapters import AdaptersPanel

        return AdaptersPanel(app, parent)
    if key == "knowledge":
        from ui.panels.knowledge import KnowledgePanel

        return KnowledgePanel(app, parent)
    if key == "memory":
        from ui.panels.memory import MemoryPanel

        return MemoryPanel(app, parent)
    if key == "models":
        from ui.panels.models import ModelsPanel

        return ModelsPanel(app, parent)
    raise ValueError(f"No panel called {key!r}")
