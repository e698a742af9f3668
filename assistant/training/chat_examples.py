"""Answers from chats that the user marked as examples to learn from, or rewrote themselves.

Only references are kept (chat id, message id, and the user's rewrite when there is one): the
prompt and the answer are read from the chat when training starts. Deleting a chat removes its
examples from the file (:meth:`ChatExamples.forget_chat`), rewrites included, so none of the
chat's words stay behind. The file is ``<data>/training/chat_examples.json``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.errors import TrainingError
from assistant.training.data import DataSource, Pair


@dataclass(frozen=True)
class ChatExample:
    """One marked answer: ``rewrite`` is the user's own version, or empty to keep the answer."""

    session_id: str
    message_id: str
    rewrite: str = ""
    marked_at: float = 0.0


class ChatExamples:
    """The marked answers, in a small JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ChatExamples:
        """The examples file of one Loremind data folder."""
        return cls(data_dir / "training" / "chat_examples.json")

    def all(self) -> list[ChatExample]:
        """Every marked answer, oldest first."""
        try:
            return [ChatExample(**row) for row in json.loads(self.path.read_text("utf-8"))]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError) as exc:  # unreadable, not JSON, not its rows
            raise TrainingError(f"The chat examples file {self.path} cannot be read: {exc}") \
                from exc

    def mark(self, session_id: str, message_id: str, rewrite: str = "") -> ChatExample:
        """Use this answer (or the user's rewrite of it) as an example to train on."""
        example = ChatExample(session_id, message_id, rewrite.strip(), time.time())
        with self._lock:
            kept = [e for e in self.all() if e.message_id != message_id]
            self._write([*kept, example])
        return example

    def unmark(self, message_id: str) -> bool:
        """Stop using this answer as an example; True when it was one."""
        with self._lock:
            examples = self.all()
            kept = [e for e in examples if e.message_id != message_id]
            self._write(kept)
        return len(kept) != len(examples)

    def forget_chat(self, session_id: str) -> list[ChatExample]:
        """Remove every example marked from chat ``session_id`` (it is being deleted);
        returns them, so that undoing the deletion can put them back."""
        with self._lock:
            examples = self.all()
            gone = [e for e in examples if e.session_id == session_id]
            if gone:
                self._write([e for e in examples if e.session_id != session_id])
        return gone

    def put_back(self, examples: list[ChatExample]) -> None:
        """Mark ``examples`` again (a deleted chat was brought back)."""
        if not examples:
            return
        with self._lock:
            ids = {e.message_id for e in examples}
            self._write([*(e for e in self.all() if e.message_id not in ids), *examples])

    def pairs(self, conversations: Any) -> tuple[list[Pair], DataSource, list[str]]:
        """The marked answers as pairs (prompt: the user's turn before), read from the chats.

        ``conversations`` is the store's :class:`Conversations`. Examples whose chat or message
        is gone are left out, with a note.
        """
        pairs: list[Pair] = []
        notes: list[str] = []
        ids: list[str] = []
        for example in self.all():
            try:
                session = conversations.get(example.session_id)
            except Exception:  # SessionNotFound: the chat was deleted
                notes.append(f"chat {example.session_id} is gone; its example was left out")
                continue
            turns = session.messages
            index = next((i for i, m in enumerate(turns) if m.id == example.message_id), None)
            if index is None or turns[index].role != "assistant" or index == 0 \
                    or turns[index - 1].role != "user":
                notes.append(f"message {example.message_id} is gone; left out")
                continue
            response = example.rewrite or turns[index].text
            pairs.append(Pair(turns[index - 1].text, response,
                              f"chat:{session.id}/{example.message_id}"))
            ids.append(example.message_id)
        return pairs, DataSource("chat", message_ids=tuple(ids), examples=len(pairs)), notes

    def _write(self, examples: list[ChatExample]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps([asdict(e) for e in examples], indent=1),
                             encoding="utf-8")
        os.replace(temporary, self.path)
