"""What changed, announced once: every open view subscribes and refreshes itself.

The core's mutations return a :class:`Change` and publish it on the :class:`ChangeFeed`. Front
ends subscribe once (the GUI hands each change to its main thread); a panel reads the area and
refreshes when the change is about what it shows. Changes made elsewhere (the folder watcher,
an adapter file copied into a folder, an answer that proposed a memory) arrive the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from assistant.core.fanout import Fanout


class Area(StrEnum):
    """The part of the app a change is about."""

    CHATS = "chats"
    KNOWLEDGE = "knowledge"
    MEMORY = "memory"
    ADAPTERS = "adapters"
    MODEL = "model"
    SETTINGS = "settings"
    CONNECTIONS = "connections"  # the apps registered for Connections, and their audit trail


@dataclass(frozen=True)
class Change:
    """One change: its area, what it did, and the ids of what it touched (may be empty)."""

    area: Area
    action: str
    ids: tuple[str, ...] = ()

    def about(self, *areas: Area) -> bool:
        """Whether this change concerns any of ``areas``."""
        return self.area in areas


class ChangeFeed(Fanout[Change]):
    """Fan-out of changes to subscribers, called on the publishing thread."""

    def __init__(self) -> None:
        super().__init__("change")

    def publish(self, change: Change) -> Change:
        """Tell every subscriber about ``change``; a failing subscriber never stops the others."""
        self.tell(change)
        return change
