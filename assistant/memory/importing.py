"""Check a memory export completely before anything of it is written.

An import either writes all of a file or nothing: every field of every memory and event is
checked here first, and the first problem is reported with where it is (``memories[3].pinned``),
so the user can fix the file by hand. Ids must be unique within the file.
"""

from __future__ import annotations

import json
import math
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import LoremindError
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
            f"That memory export has version {_short(version)}; this Loremind reads version "
            f"{EXPORT_VERSION}. Update Loremind to import it.")
    return CheckedImport(memories=_unique_rows(data, "memories", "memory", _memory, now),
                         events=_unique_rows(data, "events", "event", _event, now))


def _unique_rows(data: dict[str, Any], key: str, noun: str,
                 convert: Callable[[Any, str, float], dict[str, Any]],
                 now: float) -> list[dict[str, Any]]:
    """The checked rows under ``key``, refusing an id given twice (with where it repeats)."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(_list(data, key)):
        where = f"{key}[{index}]"
        row = convert(item, where, now)
        if row["id"] in seen:
            raise ImportFileError(f"The file holds the {noun} id '{row['id']}' twice "
                                  f"(again at {where}); ids must be unique.")
        seen.add(row["id"])
        rows.append(row)
    return rows


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if value is None:
        value = []
    if not isinstance(value, list):
        raise ImportFileError(f"\"{key}\" in the file must be a list, not {_kind(value)}.")
    return value


def _memory(item: Any, where: str, now: float) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ImportFileError(f"{where} must be an object, not {_kind(item)}.")
    text = " ".join(_text(item, "text", where, required=True).split())
    if not text:
        raise ImportFileError(f"{where}.text is empty; a memory needs some text.")
    if len(text) > MAX_TEXT_CHARS:
        raise ImportFileError(f"{where}.text is longer than {MAX_TEXT_CHARS} characters.")
    status = _text(item, "status", where, default=MemoryStatus.ACTIVE)
    if status not in set(MemoryStatus):
        allowed = ", ".join(s.value for s in MemoryStatus)
        raise ImportFileError(f"{where}.status is {_short(status)}; it must be one of {allowed}.")
    pinned = item.get("pinned", False)
    if not isinstance(pinned, bool):
        raise ImportFileError(f"{where}.pinned is {_short(pinned)}; it must be true or false.")
    row: dict[str, Any] = {"id": _id(item, where), "text": text, "status": str(status),
                           "pinned": pinned}
    for name in _TEXT_FIELDS:
        row[name] = _text(item, name, where, default="imported" if name == "origin" else "")
    row["created_at"] = _time(item, "created_at", where, now)
    row["updated_at"] = _time(item, "updated_at", where, row["created_at"])
    return row


def _event(item: Any, where: str, now: float) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ImportFileError(f"{where} must be an object, not {_kind(item)}.")
    row: dict[str, Any] = {"id": _id(item, where),
                           "memory_id": _text(item, "memory_id", where, required=True),
                           "event": _text(item, "event", where, required=True)}
    if not row["memory_id"] or not row["event"]:
        raise ImportFileError(f"{where} needs a non-empty \"memory_id\" and \"event\".")
    for name in _EVENT_TEXT_FIELDS:
        row[name] = _text(item, name, where, default="")
    row["actor"] = _text(item, "actor", where, default="user")
    if row["actor"] not in _ACTORS:
        raise ImportFileError(f"{where}.actor is {_short(row['actor'])}; it must be user, "
                              "assistant or app.")
    row["at"] = _time(item, "at", where, now)
    return row


def _id(item: dict[str, Any], where: str) -> str:
    value = _text(item, "id", where, required=True)
    if not value.strip() or len(value) > 200:
        raise ImportFileError(f"{where}.id must be a non-empty string of at most 200 characters.")
    return value


def _text(item: dict[str, Any], name: str, where: str, *, required: bool = False,
          default: str = "") -> str:
    if name not in item or (item[name] is None and not required):
        if required:
            raise ImportFileError(f"{where} has no \"{name}\".")
        return default
    value = item[name]
    if not isinstance(value, str):
        raise ImportFileError(f"{where}.{name} is {_kind(value)}; it must be a string.")
    if "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ImportFileError(f"{where}.{name} holds characters that cannot be stored "
                              "(a NUL or half of a surrogate pair).")
    return value


def _time(item: dict[str, Any], name: str, where: str, default: float) -> float:
    value = item.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value < 1e11:
        raise ImportFileError(f"{where}.{name} is {_short(value)}; it must be a time in seconds "
                              "since 1970.")
    return float(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def read_json_file(path: Path) -> Any:
    """Parse a JSON file, or raise :class:`ImportFileError` saying why it cannot be read."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ImportFileError(f"{path} is not a regular file.")
        if info.st_size > MAX_FILE_BYTES:
            raise ImportFileError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB; "
                                  "a memory export is far smaller.")
        return json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ImportFileError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text, so not a memory export.") from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ImportFileError(f"{path} is not valid JSON ({exc}).") from exc
