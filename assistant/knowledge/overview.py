"""What the knowledge index holds per watched folder: documents by status, and the problems."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.statuses import DocumentStatus
from assistant.store import DOCUMENTS, Store


@dataclass
class FolderOverview:
    """One watched folder: documents by status, and the files not indexed with the reason."""

    folder: str
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (path, status, reason)

    @property
    def indexed(self) -> int:
        return self.counts[DocumentStatus.INDEXED]

    @property
    def skipped(self) -> int:
        return self.counts[DocumentStatus.SKIPPED]

    @property
    def failed(self) -> int:
        return self.counts[DocumentStatus.FAILED]

    @property
    def pending(self) -> int:
        """Files seen but not indexed yet (a stopped sync did not reach them): the next does."""
        return self.counts[DocumentStatus.PENDING]


def folder_overviews(store: Store, folders: list[str]) -> list[FolderOverview]:
    """An overview of each folder in ``folders`` (in that order), read from ``documents``."""
    by_folder = {_key(f): FolderOverview(f) for f in folders}
    rows = store.rows(DOCUMENTS.name, columns=["path", "folder", "status", "reason"])
    for row in rows:
        overview = by_folder.get(row["folder"])
        if overview is None:
            continue
        overview.counts[row["status"]] += 1
        if row["status"] in (DocumentStatus.SKIPPED, DocumentStatus.FAILED):
            overview.problems.append((row["path"], row["status"], row["reason"]))
    for overview in by_folder.values():
        overview.problems.sort(key=lambda p: (p[1] != DocumentStatus.FAILED, p[0]))
    return list(by_folder.values())


def _key(folder: str) -> str:
    return str(Path(folder).expanduser().resolve())
