"""Untrusted JSON (a file to import, a JSON column of a stored row) read into typed values.

Each check names where the first problem is (``messages[3].role``) in the message of the error
class its caller chose, so a person can fix the file by hand. A file is read whole and checked
whole before anything of it is written; its size and its nesting are bounded first, so a file
of a hundred thousand ``[`` is a message, not a ``RecursionError``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NoReturn

from assistant.errors import LoremindError
from assistant.user_files import read_user_file

MAX_DEPTH = 64  # arrays and objects inside each other; Loremind's own files use under ten
MAX_ID_CHARS = 200
LATEST_TIME = 1e11  # seconds since 1970: the year 5138, past any real timestamp


class JsonShapes:
    """Checks of one kind of JSON data; every problem is raised as ``error``."""

    def __init__(self, error: type[LoremindError]) -> None:
        self.error = error

    def fail(self, message: str) -> NoReturn:
        """Raise the caller's error with ``message``."""
        raise self.error(message)

    def object(self, value: Any, where: str) -> dict[str, Any]:
        """``value`` when it is a JSON object."""
        if not isinstance(value, dict):
            self.fail(f"{where} must be an object, not {kind(value)}.")
        return value

    def items(self, item: dict[str, Any], name: str, where: str = "",
              max_items: int | None = None) -> list[Any]:
        """The list under ``name`` (missing or null: empty)."""
        value = item.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"{at(where, name)} must be a list, not {kind(value)}.")
        if max_items is not None and len(value) > max_items:
            self.fail(f"{at(where, name)} holds {len(value)} items; at most {max_items} fit.")
        return value

    def strings(self, item: dict[str, Any], name: str, where: str, max_items: int,
                max_chars: int) -> list[str]:
        """The list of strings under ``name`` (missing or null: empty)."""
        place = at(where, name)
        return [self.text({"": value}, "", f"{place}[{index}]", required=True,
                          max_chars=max_chars)
                for index, value in enumerate(self.items(item, name, where, max_items))]

    def text(self, item: dict[str, Any], name: str, where: str, *, required: bool = False,
             default: str = "", max_chars: int | None = None) -> str:
        """The string under ``name``: no NUL, no half of a surrogate pair, not too long."""
        if name not in item or (item[name] is None and not required):
            if required:
                self.fail(f"{where or 'The file'} has no \"{name}\".")
            return default
        value = item[name]
        if not isinstance(value, str):
            self.fail(f"{at(where, name)} is {kind(value)}; it must be a string.")
        if not storable(value):
            self.fail(f"{at(where, name)} holds characters that cannot be stored (a NUL or half "
                      "of a surrogate pair).")
        if max_chars is not None and len(value) > max_chars:
            self.fail(f"{at(where, name)} is longer than {max_chars} characters.")
        return value

    def ident(self, item: dict[str, Any], name: str, where: str) -> str:
        """A required id: a non-empty string of at most :data:`MAX_ID_CHARS` characters."""
        value = self.text(item, name, where, required=True)
        if not value.strip() or len(value) > MAX_ID_CHARS:
            self.fail(f"{at(where, name)} must be a non-empty string of at most {MAX_ID_CHARS} "
                      "characters.")
        return value

    def choice(self, item: dict[str, Any], name: str, where: str, choices: tuple[str, ...],
               default: str) -> str:
        """One of ``choices`` (missing: ``default``)."""
        value = self.text(item, name, where, default=default)
        if value not in choices:
            self.fail(f"{at(where, name)} is {short(value)}; it must be one of "
                      f"{', '.join(choices)}.")
        return value

    def flag(self, item: dict[str, Any], name: str, where: str, default: bool = False) -> bool:
        """true or false (missing: ``default``)."""
        value = item.get(name, default)
        if not isinstance(value, bool):
            self.fail(f"{at(where, name)} is {short(value)}; it must be true or false.")
        return value

    def time(self, item: dict[str, Any], name: str, where: str, default: float) -> float:
        """A time in seconds since 1970 (missing or null: ``default``)."""
        value = item.get(name)
        if value is None:
            return default
        if not _finite(value) or not 0 <= value < LATEST_TIME:
            self.fail(f"{at(where, name)} is {short(value)}; it must be a time in seconds since "
                      "1970.")
        return float(value)

    def number(self, item: dict[str, Any], name: str, where: str, default: float,
               low: float, high: float) -> float:
        """A finite number from ``low`` to ``high`` (missing or null: ``default``)."""
        value = item.get(name)
        if value is None:
            return default
        if not _finite(value) or not low <= value <= high:
            self.fail(f"{at(where, name)} is {short(value)}; it must be a number from {low:g} "
                      f"to {high:g}.")
        return float(value)

    def whole(self, item: dict[str, Any], name: str, where: str, default: int,
              low: int, high: int) -> int:
        """A whole number from ``low`` to ``high`` (missing or null: ``default``)."""
        value = item.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(f"{at(where, name)} is {short(value)}; it must be a whole number from "
                      f"{low} to {high}.")
        return value


def at(where: str, name: str) -> str:
    """The place of field ``name`` inside ``where`` (``messages[3]`` + ``role``); an empty
    name is ``where`` itself (an item of a list)."""
    if not name:
        return where
    return f"{where}.{name}" if where else name


def storable(text: str) -> bool:
    """Whether the database can hold ``text``: no NUL, no lone half of a surrogate pair."""
    return "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def made_storable(text: str) -> str:
    """``text`` without what the database cannot hold: NULs dropped, a lone half of a
    surrogate pair replaced (a model's byte tokens, or a server's escapes, can make either)."""
    if storable(text):
        return text
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c
                   for c in text if c != "\x00")


def kind(value: Any) -> str:
    """What a JSON value is, in words."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def short(value: Any) -> str:
    """``value`` as a person may see it in a message (long ones cut)."""
    text = repr(value) if not isinstance(value, list | dict) else kind(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _finite(value: Any) -> bool:
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value))


def nesting(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (walked without recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, dict | list))
    return deepest


def parse_json(text: str | bytes, error: type[LoremindError], what: str) -> Any:
    """Parsed JSON within :data:`MAX_DEPTH`, without NaN or Infinity (they are not JSON);
    raises ``error`` saying why ``what`` is not."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise error(f"{what} nests more than {MAX_DEPTH} levels deep.") from exc
    except (ValueError, TypeError) as exc:  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise error(f"{what} is not valid JSON ({exc}).") from exc
    if nesting(data) > MAX_DEPTH:
        raise error(f"{what} nests more than {MAX_DEPTH} levels deep.")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json_file(path: Path, *, max_bytes: int, what: str,
                   error: type[LoremindError]) -> Any:
    """Parse the JSON file a person gave as ``what`` ("a memory export"), or raise ``error``
    saying why it cannot be read: not a regular file, too large, not UTF-8, not JSON."""
    data = read_user_file(path, max_bytes=max_bytes, what=what, error=error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path} is not UTF-8 text, so not {what}.") from exc
    return parse_json(text, error, str(path))
