"""Dropping what the index holds of folders that are no longer watched."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from assistant.store import CHUNKS, DOCUMENTS, Store, sql_in, sql_str


def folder_key(folder: Path | str) -> str:
    """How a watched folder is named in the settings and the index: absolute, links resolved."""
    return str(Path(folder).expanduser().resolve())


# Meta key recording when a folder stopped being watched: a sync of it running meanwhile, in
# this process or another (``loremind index`` while ``loremind knowledge remove``), sees it
# under the write lock and stops instead of writing rows of a folder nobody watches.
_REMOVED = "folder_removed:"


def purge_folder(store: Store, folder: Path | str) -> None:
    """Delete every document and chunk indexed under ``folder``, and record when, so that a
    sync of it still running anywhere stops at its next write."""
    key = folder_key(folder)
    where = f"folder = {sql_str(key)}"
    with store.writing():
        store.set_meta(_REMOVED + key, repr(time.time()))
        store.delete(CHUNKS.name, where)
        store.delete(DOCUMENTS.name, where)


def removed_since(store: Store, folder: Path | str, since: float) -> bool:
    """Whether ``folder`` was removed after ``since`` (a time.time())."""
    recorded = store.get_meta(_REMOVED + folder_key(folder))
    try:
        return recorded is not None and float(recorded) > since
    except ValueError:
        return False


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
