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

from assistant.chat.chat_file import FORMAT, VERSION, ChatImportError, check_chat, read_chat_file
from assistant.chat.conversations import ChatSession
from assistant.chat.rendering import answer_stats_line, source_title
from assistant.user_files import write_user_file

if TYPE_CHECKING:
    from assistant.chat.conversations import Conversations

__all__ = ["ChatImportError", "chat_to_json", "chat_to_markdown", "export_chat", "import_chat"]


def chat_to_json(session: ChatSession) -> dict[str, Any]:
    """The whole chat as plain data (what :func:`~assistant.chat.chat_file.check_chat` reads
    back)."""
    return {
        "format": FORMAT, "version": VERSION, "exported_at": time.time(),
        "id": session.id, "title": session.title, "model": session.model,
        "created_at": session.created_at, "updated_at": session.updated_at,
        "adapters": session.adapters,
        "settings": json.loads(session.settings.to_json() or "{}"),
        "messages": [dataclasses.asdict(m) for m in session.messages],
    }


def chat_to_markdown(session: ChatSession) -> str:
    """The chat for people to read: its turns, each answer's sources and stats."""
    when = datetime.fromtimestamp(session.created_at).strftime("%Y-%m-%d %H:%M")
    lines = [f"# {session.title}", "", f"*Exported from Loremind · started {when}*"]
    lines += [f"*Damaged in the database, left out: {problem}*" for problem in session.damaged]
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
                                                   str(stats.get("finish_reason", "")),
                                                   str(stats.get("engine", ""))) + "*"]
    return "\n".join(lines).rstrip() + "\n"


def export_chat(session: ChatSession, path: Path, keep_out: Path | None = None) -> Path:
    """Write the chat to ``path``: JSON for a ``.json`` name, else Markdown (never inside
    ``keep_out``, the data folder)."""
    path = Path(path)
    as_json = path.suffix.lower() == ".json"
    text = json.dumps(chat_to_json(session), indent=2, ensure_ascii=False) if as_json \
        else chat_to_markdown(session)
    return write_user_file(path, text, "chat.json" if as_json else "chat.md", keep_out)


def import_chat(conversations: Conversations, source: Path | dict[str, Any]) -> ChatSession:
    """Store a chat from an exported JSON file (or its data), all of it or, when any part is
    malformed, nothing; a chat whose id is taken (it was never deleted) comes in as a copy
    with new ids."""
    data = source if isinstance(source, dict) else read_chat_file(Path(source))
    session = check_chat(data, time.time())
    if conversations.exists(session.id) or conversations.taken_message_ids(
            [m.id for m in session.messages]):
        session.id = uuid.uuid4().hex[:12]
        for message in session.messages:
            message.id = uuid.uuid4().hex
    conversations.restore(session)
    return session
