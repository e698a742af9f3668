"""The memory area: reading and changing memories, each change announced to every view."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.changes import Area, Change
from assistant.memory.book import ImportProgress, Memory, MemoryBook, MemoryEvent
from assistant.statuses import MemoryStatus

if TYPE_CHECKING:
    from assistant.core.app import Loremind


class MemoryArea:
    """What the assistant remembers; every mutation returns and publishes a :class:`Change`."""

    def __init__(self, core: Loremind) -> None:
        self._core = core

    @property
    def _book(self) -> MemoryBook:
        return self._core.parts.memory

    # -- reading -------------------------------------------------------------------------------

    def get(self, memory_id: str) -> Memory:
        """One memory by id (or unique id prefix)."""
        return self._book.get(memory_id)

    def list(self, status: MemoryStatus | None = MemoryStatus.ACTIVE) -> list[Memory]:
        """Memories with ``status`` (all when None), pinned first, then newest first."""
        return self._book.list(status)

    def search(self, query: str, k: int = 10,
               status: MemoryStatus | None = MemoryStatus.ACTIVE) -> builtins.list[Memory]:
        """Memories matching ``query`` by meaning or words."""
        return self._book.search(query, k, status)

    def history(self, memory_id: str) -> builtins.list[MemoryEvent]:
        """Every change to one memory, oldest first."""
        return self._book.history(memory_id)

    @property
    def paused(self) -> bool:
        """While paused, chats neither use nor propose memories."""
        return self._book.paused

    def export(self) -> dict[str, Any]:
        """Every memory and its history, as JSON-ready data."""
        return self._book.export()

    def export_to(self, path: Path) -> tuple[Path, int]:
        """Write every memory and its history to the JSON file ``path`` (checked first, then
        written whole or not at all); returns where and how many memories."""
        from assistant.user_files import check_output_file, write_user_file

        keep_out = self._core.paths.data_dir  # erasing a memory could not reach a copy there
        check_output_file(path, "memories.json", keep_out)
        data = self.export()
        written = write_user_file(path, json.dumps(data, indent=2, ensure_ascii=False),
                                  "memories.json", keep_out)
        return written, len(data["memories"])

    # -- changing ------------------------------------------------------------------------------

    def remember(self, text: str) -> Change:
        """Keep ``text`` at once, as the user asked."""
        return self._changed("remembered", self._book.remember(text).id)

    def approve(self, memory_id: str) -> Change:
        """Make a proposed memory active."""
        return self._changed("approved", self._book.approve(memory_id).id)

    def reject(self, memory_id: str) -> Change:
        """Decline a proposed memory."""
        return self._changed("rejected", self._book.reject(memory_id).id)

    def edit(self, memory_id: str, text: str) -> Change:
        """Change a memory's text."""
        return self._changed("edited", self._book.edit(memory_id, text).id)

    def pin(self, memory_id: str, pinned: bool = True) -> Change:
        """Pin a memory into every answer, or unpin it."""
        return self._changed("pinned" if pinned else "unpinned",
                             self._book.pin(memory_id, pinned).id)

    def forget(self, memory_id: str, *, permanent: bool = False) -> Change:
        """Stop using a memory (undoable), or erase it for good."""
        memory = self._book.get(memory_id)
        self._book.forget(memory.id, permanent=permanent)
        return self._changed("erased" if permanent else "forgotten", memory.id)

    def restore(self, memory_id: str) -> Change:
        """Undo the last change to a memory."""
        return self._changed("restored", self._book.restore(memory_id).id)

    def pause(self, paused: bool = True) -> Change:
        """Pause memory (chats neither use nor propose memories), or resume it."""
        if paused:
            self._book.pause()
        else:
            self._book.resume()
        return self._changed("paused" if paused else "resumed")

    @property
    def import_batch(self) -> int:
        """How many texts an import embeds between progress reports."""
        from assistant.memory.book import IMPORT_BATCH

        return IMPORT_BATCH

    def read_import(self, path: Path) -> Any:
        """A memory export read and checked (ImportFileError names the first problem and
        where), before the embedder or the database is loaded."""
        from assistant.memory.importing import check_export, read_memory_file

        data = read_memory_file(path)
        check_export(data, 0.0)
        return data

    def import_file(self, path: Path,
                    progress: ImportProgress | None = None) -> tuple[int, int]:
        """Merge the memories of an export file in (all of it, or nothing when any part is
        malformed); returns (added, already known)."""
        return self.import_(self.read_import(path), progress)

    def propose(self, text: str, *, auto_approve: bool = False) -> Change | None:
        """Suggest ``text`` as a memory, waiting for the user's approval (None when it is
        already known)."""
        memory = self._book.propose(text, auto_approve=auto_approve)
        return None if memory is None else self._changed("proposed", memory.id)

    def import_(self, data: Any, progress: ImportProgress | None = None) -> tuple[int, int]:
        """Merge exported memories in; returns (added, already known)."""
        added, known = self._book.import_(data, progress)
        if added:
            self._changed("imported")
        return added, known

    def _changed(self, action: str, *ids: str) -> Change:
        return self._core.changes.publish(Change(Area.MEMORY, action, ids))
