"""Dropping what the index holds of folders that are no longer watched."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from assistant.store import CHUNKS, DOCUMENTS, Store, sql_in, sql_str


def folder_key(folder: Path | str) -> str:
    """How a watched folder is named in the settings and the index: absolute, links resolved."""
    return str(Path(folder).expanduser().resolve())


def purge_folder(store: Store, folder: Path | str) -> None:
    """Delete every document and chunk indexed under ``folder``."""
    where = f"folder = {sql_str(folder_key(folder))}"
    with store.writing():
        store.delete(CHUNKS.name, where)
        store.delete(DOCUMENTS.name, where)


def purge_unconfigured(store: Store, folders: Sequence[str]) -> int:
    """Delete the documents and chunks of every folder not in ``folders``; how many documents."""
    keep = [folder_key(f) for f in folders]
    where = f"NOT ({sql_in('folder', keep)})" if keep else None
    with store.writing():
        gone = store.count(DOCUMENTS.name, where)
        stray_chunks = store.count(CHUNKS.name, where)
        if gone or stray_chunks:
            store.delete(CHUNKS.name, where or "TRUE")
            store.delete(DOCUMENTS.name, where or "TRUE")
    return gone
