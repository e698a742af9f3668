"""Chats out and back in: Markdown to read or share, JSON that imports back whole.

The JSON holds everything a stored chat has (turns, sources, memories used, stats, regenerated
versions, adapter set, per-chat settings), so exporting, deleting and importing a chat gives it
back as it was. The Markdown is for people: the turns, each answer's sources, what it cost.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.chat.chat_settings import ChatSettings
from assistant.chat.conversations import ChatMessage, ChatSession
from assistant.chat.rendering import answer_stats_line, source_title
from assistant.errors import LoremindError

if TYPE_CHECKING:
    from assistant.chat.conversations import Conversations

FORMAT = "loremind-chat"
VERSION = 1
_MESSAGE_FIELDS = [f.name for f in dataclasses.fields(ChatMessage)]


class ChatImportError(LoremindError):
    """A file that is not a chat exported by Loremind."""


def chat_to_json(session: ChatSession) -> dict[str, Any]:
    """The whole chat as plain data (what :func:`chat_from_json` reads back)."""
    return {
        "format": FORMAT, "version": VERSION, "exported_at": time.time(),
        "id": session.id, "title": session.title, "model": session.model,
        "created_at": session.created_at, "updated_at": session.updated_at,
        "adapters": session.adapters,
        "settings": json.loads(session.settings.to_json() or "{}"),
        "messages": [dataclasses.asdict(m) for m in session.messages],
    }


def chat_from_json(data: Any) -> ChatSession:
    """A chat from :func:`chat_to_json`'s data; raises :class:`ChatImportError` otherwise."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ChatImportError("This file is not a chat exported by Loremind (export one with "
                              "Export chat… as JSON).")
    if int(data.get("version", 0)) > VERSION:
        raise ChatImportError("This chat was exported by a newer Loremind: update to import it.")
    try:
        messages = [ChatMessage(**{k: v for k, v in m.items() if k in _MESSAGE_FIELDS})
                    for m in data.get("messages", [])]
        return ChatSession(
            id=str(data.get("id") or uuid.uuid4().hex[:12]), title=str(data["title"]),
            model=str(data.get("model", "")), adapters=list(data.get("adapters", [])),
            settings=ChatSettings.from_json(data.get("settings") or {}), messages=messages,
            created_at=float(data.get("created_at", time.time())),
            updated_at=float(data.get("updated_at", time.time())))
    except (KeyError, TypeError, ValueError) as exc:
        raise ChatImportError(f"This chat file is damaged ({exc}): export the chat again.") \
            from exc


def chat_to_markdown(session: ChatSession) -> str:
    """The chat for people to read: its turns, each answer's sources and stats."""
    when = datetime.fromtimestamp(session.created_at).strftime("%Y-%m-%d %H:%M")
    lines = [f"# {session.title}", "", f"*Exported from Loremind · started {when}*"]
    if session.adapters:
        lines.append("*Adapters: " + ", ".join(f"{a['name']} ×{a['scale']:g}"
                                                 for a in session.adapters) + "*")
    if session.settings.system_prompt:
        lines += ["", "> **System prompt:** " + " ".join(session.settings.system_prompt.split())]
    for message in session.messages:
        who = "You" if message.role == "user" else "Loremind"
        lines += ["", f"## {who}", "", message.text.strip()]
        if message.sources:
            lines += ["", "**Sources**", ""]
            lines += [f"{s.get('number', i + 1)}. {source_title(s)} — `{s.get('path', '')}`"
                      for i, s in enumerate(message.sources)]
        if message.versions:
            lines += ["", f"*Answer {message.version + 1} of {len(message.versions)}*"]
        stats = message.stats
        if stats:
            lines += ["", "*" + answer_stats_line(int(stats.get("completion_tokens", 0)),
                                                   float(stats.get("seconds", 0.0)),
                                                   list(stats.get("adapters", [])),
                                                   str(stats.get("finish_reason", ""))) + "*"]
    return "\n".join(lines).rstrip() + "\n"


def export_chat(session: ChatSession, path: Path) -> Path:
    """Write the chat to ``path``: JSON for a ``.json`` name, else Markdown."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(chat_to_json(session), indent=2, ensure_ascii=False)
    else:
        text = chat_to_markdown(session)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LoremindError(f"Could not write {path}: {exc.strerror}. Choose another folder.") \
            from exc
    return path


def import_chat(conversations: Conversations, source: Path | dict[str, Any]) -> ChatSession:
    """Store a chat from an exported JSON file (or its data); a chat whose id is taken (it was
    never deleted) comes in as a copy with a new id."""
    if isinstance(source, dict):
        data: Any = source
    else:
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ChatImportError(f"Could not read {source}: {exc.strerror}.") from exc
        except ValueError as exc:
            raise ChatImportError(f"{Path(source).name} is not JSON: choose a chat exported "
                                  "as JSON.") from exc
    session = chat_from_json(data)
    if conversations.exists(session.id):
        session.id = uuid.uuid4().hex[:12]
    conversations.restore(session)
    return session
