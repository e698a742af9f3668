"""Check a memory export completely before anything of it is written.

An import either writes all of a file or nothing: every field of every memory and event is
checked here first, and the first problem is reported with where it is (``memories[3].pinned``),
so the user can fix the file by hand. Ids must be unique within the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import LoremindError
from assistant.json_shapes import JsonShapes, read_json_file, short
from assistant.statuses import MemoryStatus

EXPORT_FORMAT = "loremind-memories"
EXPORT_VERSION = 1
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_TEXT_CHARS = 10_000  # a memory is a fact or a preference, not a document
_TEXT_FIELDS = ("origin", "replaces", "session_id", "message_id", "source")
_EVENT_TEXT_FIELDS = ("old_text", "new_text", "old_status", "new_status")
_ACTORS = ("user", "assistant", "app")


class ImportFileError(LoremindError):
    """A memory export is malformed; the message says where and what to fix."""


_SHAPES = JsonShapes(ImportFileError)


@dataclass
class CheckedImport:
    """The rows of a memory export that passed every check (vectors not computed yet)."""

    memories: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def check_export(data: Any, now: float) -> CheckedImport:
    """Validate a parsed export file and return its rows, or raise :class:`ImportFileError`."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ImportFileError(
            "That file is not a Loremind memory export (it has no \"format\": "
            f"\"{EXPORT_FORMAT}\"). Create one with: loremind memory export FILE")
    version = data.get("version", EXPORT_VERSION)
    if version != EXPORT_VERSION or isinstance(version, bool):
        raise ImportFileError(
            f"That memory export has version {short(version)}; this Loremind reads version "
            f"{EXPORT_VERSION}. Update Loremind to import it.")
    return CheckedImport(memories=_unique_rows(data, "memories", "memory", _memory, now),
                         events=_unique_rows(data, "events", "event", _event, now))


def _unique_rows(data: dict[str, Any], key: str, noun: str,
                 convert: Callable[[Any, str, float], dict[str, Any]],
                 now: float) -> list[dict[str, Any]]:
    """The checked rows under ``key``, refusing an id given twice (with where it repeats)."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(_SHAPES.items(data, key)):
        where = f"{key}[{index}]"
        row = convert(item, where, now)
        if row["id"] in seen:
            raise ImportFileError(f"The file holds the {noun} id '{row['id']}' twice "
                                  f"(again at {where}); ids must be unique.")
        seen.add(row["id"])
        rows.append(row)
    return rows


def _memory(item: Any, where: str, now: float) -> dict[str, Any]:
    item = _SHAPES.object(item, where)
    text = " ".join(_SHAPES.text(item, "text", where, required=True).split())
    if not text:
        raise ImportFileError(f"{where}.text is empty; a memory needs some text.")
    if len(text) > MAX_TEXT_CHARS:
        raise ImportFileError(f"{where}.text is longer than {MAX_TEXT_CHARS} characters.")
    status = _SHAPES.choice(item, "status", where, tuple(s.value for s in MemoryStatus),
                            MemoryStatus.ACTIVE.value)
    row: dict[str, Any] = {"id": _SHAPES.ident(item, "id", where), "text": text,
                           "status": status, "pinned": _SHAPES.flag(item, "pinned", where)}
    for name in _TEXT_FIELDS:
        row[name] = _SHAPES.text(item, name, where,
                                 default="imported" if name == "origin" else "")
    row["created_at"] = _SHAPES.time(item, "created_at", where, now)
    row["updated_at"] = _SHAPES.time(item, "updated_at", where, row["created_at"])
    return row


def _event(item: Any, where: str, now: float) -> dict[str, Any]:
    item = _SHAPES.object(item, where)
    row: dict[str, Any] = {"id": _SHAPES.ident(item, "id", where),
                           "memory_id": _SHAPES.text(item, "memory_id", where, required=True),
                           "event": _SHAPES.text(item, "event", where, required=True)}
    if not row["memory_id"] or not row["event"]:
        raise ImportFileError(f"{where} needs a non-empty \"memory_id\" and \"event\".")
    for name in _EVENT_TEXT_FIELDS:
        row[name] = _SHAPES.text(item, name, where)
    row["actor"] = _SHAPES.choice(item, "actor", where, _ACTORS, "user")
    row["at"] = _SHAPES.time(item, "at", where, now)
    return row


def read_memory_file(path: Path) -> Any:
    """Parse a memory export file, or raise :class:`ImportFileError` saying why it cannot be
    read (not a regular file, too large, not UTF-8, not JSON, nested too deeply)."""
    return read_json_file(path, max_bytes=MAX_FILE_BYTES, what="a memory export",
                          error=ImportFileError)
