"""Indexing progress in words, for a status bar: what is happening, never a misleading zero.

The indexer reads files and embeds their passages in large batches; while the first batch is
embedded no passage is done yet, and "0 chunks · 0/s" for a minute reads as stuck.
"""

from __future__ import annotations

from typing import Any

# Line breaking may split "35/s" after the slash ("35/" on one line, "s" on the next) in a
# narrow status bar; the invisible word joiner forbids that break.
WORD_JOINER = "\u2060"


def indexing_text(folder_name: str, progress: Any) -> str:
    """One line about a sync of ``folder_name`` from the indexer's ``Progress``."""
    files = f"{progress.files_done}/{progress.files_total} files"
    if progress.chunks_done == 0:
        if progress.files_done == 0:
            return f"Indexing {folder_name}: looking for changes…"
        return f"Indexing {folder_name}: {files} read · embedding their passages…"
    return (f"Indexing {folder_name}: {files} · {progress.chunks_done:,} passages"
            f" · {progress.chunks_per_s:.0f}/{WORD_JOINER}s")
