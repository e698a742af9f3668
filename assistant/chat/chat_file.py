"""A chat as plain data, checked field by field: an export file before any of it is stored, and
a stored row before it is shown.

The same checks serve both. An import is all or nothing: the first problem is named with where
it is (``messages[3].role``) and nothing is written. A stored chat is never trusted either (an
older Loremind stored whatever a file held): a part of a row that fails its check is left out,
and the chat says which (:attr:`ChatSession.damaged`), so showing, exporting or continuing it
never ends in a traceback.
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Any

from assistant.chat.chat_settings import ChatSettings, KnowledgeScope
from assistant.chat.conversations import ChatMessage, ChatSession
from assistant.chat.memory_choice import IN_CHAT, IN_TURN
from assistant.errors import LoremindError
from assistant.json_shapes import JsonShapes, parse_json, read_json_file, short
from assistant.setting_ranges import RANGES

FORMAT = "loremind-chat"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TEXT_CHARS = 4_000_000  # a turn as the model read it, sources included, at 1M tokens
MAX_SHORT_CHARS = 4_096  # titles, paths, names
MAX_MESSAGES = 100_000
MAX_ITEMS = 1_000  # sources, memories used, answer versions, adapters, folders of one part
ROLES = ("user", "assistant")
MEMORY_PLACES = (IN_CHAT, IN_TURN)
TEACH_EXAMPLES = "teach_examples"  # in the copy an undone delete brings back; not in exports


class ChatImportError(LoremindError):
    """A file that is not a chat exported by Loremind, or one with a malformed part (the
    message says where)."""


_SHAPES = JsonShapes(ChatImportError)


def read_chat_file(path: Path) -> Any:
    """The parsed JSON of a chat export, or :class:`ChatImportError` saying why not."""
    return read_json_file(path, max_bytes=MAX_FILE_BYTES, what="a chat exported by Loremind",
                          error=ChatImportError)


def check_chat(data: Any, now: float) -> ChatSession:
    """The chat in an export's data, every field checked; raises :class:`ChatImportError`
    naming the first problem and where it is."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ChatImportError("This file is not a chat exported by Loremind (export one with "
                              "Export chat… as JSON).")
    version = data.get("version", VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ChatImportError(f"version is {short(version)}; a chat export has a whole "
                              f"number from 1 (this Loremind writes {VERSION}).")
    if version > VERSION:
        raise ChatImportError("This chat was exported by a newer Loremind: update to import it.")
    created = _SHAPES.time(data, "created_at", "", now)
    messages: list[ChatMessage] = []
    seen: set[str] = set()
    for index, item in enumerate(_SHAPES.items(data, "messages", "", MAX_MESSAGES)):
        message = check_message(item, f"messages[{index}]", created)
        if message.id in seen:
            raise ChatImportError(f"The file holds the message id '{message.id}' twice (again "
                                  f"at messages[{index}]); ids must be unique.")
        seen.add(message.id)
        messages.append(message)
    return ChatSession(
        id=_SHAPES.ident(data, "id", "") if data.get("id") is not None else _new_id(),
        title=_SHAPES.text(data, "title", "", required=True, max_chars=MAX_SHORT_CHARS),
        model=_SHAPES.text(data, "model", "", max_chars=MAX_SHORT_CHARS),
        adapters=check_adapters(data, "", "adapters"),
        settings=check_settings(_SHAPES.object(data["settings"], "settings")
                                if data.get("settings") is not None else {}, "settings"),
        messages=messages, created_at=created,
        updated_at=_SHAPES.time(data, "updated_at", "", created))


def check_teach_examples(data: Any) -> list[dict[str, Any]]:
    """The Teach examples a copy of a deleted chat carries (``{"message_id", "rewrite",
    "marked_at"}``), checked like the rest of it."""
    if not isinstance(data, dict):
        return []
    examples = []
    for index, value in enumerate(_SHAPES.items(data, TEACH_EXAMPLES, "", MAX_MESSAGES)):
        where = f"{TEACH_EXAMPLES}[{index}]"
        example = _SHAPES.object(value, where)
        examples.append({"message_id": _SHAPES.ident(example, "message_id", where),
                         "rewrite": _SHAPES.text(example, "rewrite", where,
                                                 max_chars=MAX_TEXT_CHARS),
                         "marked_at": _SHAPES.time(example, "marked_at", where, 0.0)})
    return examples


def check_message(item: Any, where: str, now: float) -> ChatMessage:
    """One turn: its role and text, what the answer cited and cost, its earlier versions."""
    item = _SHAPES.object(item, where)
    role = _SHAPES.choice(item, "role", where, ROLES, "")
    parts = check_answer(item, where, required=True)
    versions, version = check_versions(item, where)
    message_id = _SHAPES.ident(item, "id", where) if item.get("id") is not None else \
        uuid.uuid4().hex
    return ChatMessage(role=role, id=message_id, created_at=_SHAPES.time(item, "created_at",
                                                                          where, now),
                       versions=versions, version=version, **parts)


def check_versions(item: dict[str, Any], where: str) -> tuple[list[dict[str, Any]], int]:
    """Every answer a turn received (``versions``) and the one it shows (``version``)."""
    versions = [check_answer(_SHAPES.object(v, f"{where}.versions[{i}]"),
                             f"{where}.versions[{i}]")
                for i, v in enumerate(_SHAPES.items(item, "versions", where, MAX_ITEMS))]
    return versions, _SHAPES.whole(item, "version", where, 0, 0, max(0, len(versions) - 1))


def check_answer(item: dict[str, Any], where: str, required: bool = False) -> dict[str, Any]:
    """What a turn (or one version of an answer) shows: text, sources, memories, stats."""
    return {
        "text": _SHAPES.text(item, "text", where, required=required, max_chars=MAX_TEXT_CHARS),
        "sent_text": _SHAPES.text(item, "sent_text", where, max_chars=MAX_TEXT_CHARS),
        "sources": check_sources(item, where),
        "memories_used": check_memories_used(item, where),
        "stats": check_stats(item, where),
    }


def check_memories_used(item: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The memories an answer was given (``{"id", "text"}``, and ``"in"``: where the prompt
    held each one, which later turns read to keep the prompt's prefix)."""
    used = []
    for index, value in enumerate(_SHAPES.items(item, "memories_used", where, MAX_ITEMS)):
        place = f"{where}.memories_used[{index}]" if where else f"memories_used[{index}]"
        memory = _SHAPES.object(value, place)
        checked = {"id": _SHAPES.text(memory, "id", place, max_chars=MAX_SHORT_CHARS),
                   "text": _SHAPES.text(memory, "text", place, max_chars=MAX_TEXT_CHARS)}
        if memory.get("in") is not None:
            checked["in"] = _SHAPES.choice(memory, "in", place, MEMORY_PLACES, IN_CHAT)
        used.append(checked)
    return used


def check_sources(item: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The numbered citations of an answer, as :class:`~assistant.chat.events.Citation` keeps
    them (keys of newer versions are left out)."""
    sources = []
    for index, value in enumerate(_SHAPES.items(item, "sources", where, MAX_ITEMS)):
        place = f"{where}.sources[{index}]" if where else f"sources[{index}]"
        source = _SHAPES.object(value, place)
        checked: dict[str, Any] = {}
        for name in ("number", "page"):
            if source.get(name) is not None:
                checked[name] = _SHAPES.whole(source, name, place, 0, 0, 1_000_000)
        for name, limit in (("path", MAX_SHORT_CHARS), ("heading", MAX_TEXT_CHARS),
                            ("text", MAX_TEXT_CHARS)):
            if source.get(name) is not None:
                checked[name] = _SHAPES.text(source, name, place, max_chars=limit)
        if source.get("score") is not None:
            checked["score"] = _SHAPES.number(source, "score", place, 0.0, -1e9, 1e9)
        sources.append(checked)
    return sources


def check_stats(item: dict[str, Any], where: str) -> dict[str, Any]:
    """What an answer cost (tokens, seconds, why it stopped, the engine and adapters it ran
    with)."""
    if item.get("stats") is None:
        return {}
    place = f"{where}.stats" if where else "stats"
    stats = _SHAPES.object(item["stats"], place)
    checked: dict[str, Any] = {}
    for name in ("completion_tokens", "prompt_tokens"):
        if stats.get(name) is not None:
            checked[name] = _SHAPES.whole(stats, name, place, 0, 0, 1 << 31)
    if stats.get("seconds") is not None:
        checked["seconds"] = _SHAPES.number(stats, "seconds", place, 0.0, 0, 1e9)
    for name in ("finish_reason", "engine"):
        if stats.get(name) is not None:
            checked[name] = _SHAPES.text(stats, name, place, max_chars=100)
    if stats.get("adapters") is not None:
        checked["adapters"] = check_adapters(stats, place, "adapters")
    return checked


def check_adapters(item: dict[str, Any], where: str, name: str) -> list[dict[str, Any]]:
    """Adapters with their scales (``{"name", "scale", "sha256", "path"}``)."""
    adapters = []
    for index, value in enumerate(_SHAPES.items(item, name, where, MAX_ITEMS)):
        place = f"{where}.{name}[{index}]" if where else f"{name}[{index}]"
        adapter = _SHAPES.object(value, place)
        if adapter.get("scale") is None:
            raise ChatImportError(f"{place} has no \"scale\".")
        checked: dict[str, Any] = {
            "name": _SHAPES.text(adapter, "name", place, required=True,
                                 max_chars=MAX_SHORT_CHARS),
            "scale": _SHAPES.number(adapter, "scale", place, 1.0, -100, 100)}
        for key in ("sha256", "path"):
            if adapter.get(key) is not None:
                checked[key] = _SHAPES.text(adapter, key, place, max_chars=MAX_SHORT_CHARS)
        adapters.append(checked)
    return adapters


def check_settings(data: dict[str, Any], where: str) -> ChatSettings:
    """A chat's own settings, each within the range the settings file allows."""
    values: dict[str, Any] = {
        "system_prompt": _SHAPES.text(data, "system_prompt", where, max_chars=MAX_TEXT_CHARS),
        "knowledge": KnowledgeScope(_SHAPES.choice(data, "knowledge", where,
                                                   tuple(k.value for k in KnowledgeScope),
                                                   KnowledgeScope.ALL.value)),
        "folders": _SHAPES.strings(data, "folders", where, MAX_ITEMS, MAX_SHORT_CHARS)}
    for name in ("temperature", "top_p"):
        low, high = RANGES[f"generation.{name}"]
        if data.get(name) is not None:
            values[name] = _SHAPES.number(data, name, where, 0.0, low or 0, high or math.inf)
    if data.get("max_tokens") is not None:
        low, high = RANGES["generation.max_tokens"]
        values["max_tokens"] = _SHAPES.whole(data, "max_tokens", where, 1, int(low or 1),
                                             int(high or 1))
    return ChatSettings(**values)


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


# -- stored rows ------------------------------------------------------------------------------


class _Repair:
    """Reads a stored row's parts with the checks above, keeping what fails out (noted)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[str] = []

    def column(self, row: dict[str, Any], name: str, empty: Any) -> Any:
        """A JSON column parsed (``empty`` for null or ""), or ``empty`` when it is not JSON."""
        raw = row.get(name)
        if raw is None or raw == "":
            return empty
        try:
            return parse_json(raw, ChatImportError, name)
        except ChatImportError as exc:
            self.note(name, str(exc))
            return empty

    def part(self, name: str, check: Any, *args: Any, empty: Any) -> Any:
        """``check(*args)``, or ``empty`` (noted) when the part fails it."""
        try:
            return check(*args)
        except ChatImportError as exc:
            self.note(name, str(exc))
            return empty

    def time(self, value: Any, name: str, default: float) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and math.isfinite(value) and value >= 0:
            return float(value)
        self.note(name, f"{name} is {short(value)}, not a time")
        return default

    def note(self, name: str, problem: str) -> None:
        self.problems.append(f"{self.where}: its {name} could not be read ({problem})")


def stored_session(row: dict[str, Any]) -> ChatSession:
    """A chat from its ``sessions`` row (messages not read), with what is damaged noted."""
    repair = _Repair("the chat")
    title = row.get("title")
    adapters = repair.column(row, "adapters", [])
    settings = repair.column(row, "settings", {})
    created = repair.time(row.get("created_at"), "created_at", 0.0)
    session = ChatSession(
        id=str(row.get("id") or ""), title=title if isinstance(title, str) else "Untitled chat",
        model=str(row.get("model") or ""),
        adapters=repair.part("adapters", check_adapters, {"adapters": adapters}, "", "adapters",
                             empty=[]),
        settings=repair.part("settings", _stored_settings, settings, empty=ChatSettings()),
        created_at=created, updated_at=repair.time(row.get("updated_at"), "updated_at", created))
    session.damaged = repair.problems
    return session


def stored_message(row: dict[str, Any], number: int, default_time: float
                   ) -> tuple[ChatMessage | None, list[str]]:
    """A turn from its ``messages`` row, with what is damaged noted; None (noted) when its
    role is neither user nor assistant, so no prompt is built from it."""
    repair = _Repair(f"turn {number}")
    role, text, sent = row.get("role"), row.get("text"), row.get("sent_text")
    if role not in ROLES:
        repair.note("role", f"{short(role)} is neither user nor assistant; the turn is left out")
        return None, repair.problems
    if not isinstance(text, str):
        repair.note("text", f"it is {short(text)}")
    message = ChatMessage(
        role=str(role), text=text if isinstance(text, str) else "",
        id=str(row.get("id") or uuid.uuid4().hex),
        created_at=repair.time(row.get("created_at"), "created_at", default_time),
        sent_text=sent if isinstance(sent, str) else "")
    for name, check, empty in (("sources", check_sources, []),
                               ("memories_used", check_memories_used, []),
                               ("stats", check_stats, {})):
        value = repair.column(row, name, empty)
        setattr(message, name, repair.part(name, check, {name: value}, "", empty=empty))
    versions = repair.column(row, "versions", {})
    message.versions, message.version = repair.part("versions", _stored_versions, versions,
                                                    empty=([], 0))
    return message, repair.problems


def _stored_settings(data: Any) -> ChatSettings:
    return check_settings(_SHAPES.object(data, "settings"), "settings")


def _stored_versions(data: Any) -> tuple[list[dict[str, Any]], int]:
    """Versions as the messages table keeps them: ``{"current": i, "all": [...]}``."""
    data = _SHAPES.object(data, "versions")
    return check_versions({"versions": data.get("all"), "version": data.get("current")},
                          "versions")
