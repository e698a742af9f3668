"""The chat area: answers run by the core for their chat, and the stored chats.

Every answer is a job on the model lane, owned by its chat (``chat:<id>``): it holds the
scheduler's answer gate while it runs, so indexing and embedding step aside, and it goes on
when the user switches to another chat. :meth:`ChatArea.start` returns its
:class:`AnswerRun` at once; :meth:`ChatArea.ask` is the same answer read as an iterator.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.chat.answering import Answerer, AskOptions, TurnIds
from assistant.chat.conversations import ChatMessage, ChatSession, SessionHit
from assistant.chat.events import Done, Event, Failed, MemoryProposed, Notice, Sources
from assistant.core.answers import AnswerRun
from assistant.core.changes import Area, Change
from assistant.core.scheduler import Lane
from assistant.errors import LoremindError

if TYPE_CHECKING:
    from assistant.core.app import Loremind


class ChatArea:
    """Chats for every front end; an answer is a run of typed events."""

    def __init__(self, core: Loremind) -> None:
        self._core = core
        self._runs: dict[str, AnswerRun] = {}
        self._runs_lock = threading.Lock()
        self._answerer: Answerer | None = None

    def new_session(self, temporary: bool = False) -> ChatSession:
        """A new chat, stored from its first message unless it is temporary. On a database
        this machine may only read, the first answer makes it temporary and says why."""
        return ChatSession(temporary=temporary)

    # -- answers -------------------------------------------------------------------------------

    def start(self, session: ChatSession, text: str,
              options: AskOptions | None = None) -> AnswerRun:
        """Start answering ``text`` in ``session``; the run's events end in Done or Failed."""
        return self._start(session, text, options, lambda answerer, ids, o:
                           answerer.ask(session, text, o, ids))

    def start_regenerate(self, session: ChatSession,
                         options: AskOptions | None = None) -> AnswerRun:
        """Start answering the last user message again, replacing the last answer."""
        last = _last_user(session)
        replaced = tuple(m.id for m in session.messages[last + 1:]) if last >= 0 else ()
        question = session.messages[last].text if last >= 0 else ""
        return self._start(session, question, options, lambda answerer, ids, o:
                           answerer.regenerate(session, o, ids),
                           replaced=replaced, new_question=False)

    def start_edit(self, session: ChatSession, text: str,
                   options: AskOptions | None = None) -> AnswerRun:
        """Start answering ``text`` in place of the last user message and what followed it."""
        last = _last_user(session)
        replaced = tuple(m.id for m in session.messages[max(last, 0):]) if last >= 0 else ()
        return self._start(session, text, options, lambda answerer, ids, o:
                           answerer.edit_last(session, text, o, ids), replaced=replaced)

    def ask(self, session: ChatSession, text: str,
            options: AskOptions | None = None) -> Iterator[Event]:
        """Answer ``text`` in ``session``: events ending in Done or Failed. An iterator closed
        before the end stops the answer (what was written so far is kept, as with Stop)."""
        return _read(self.start(session, text, options))

    def regenerate(self, session: ChatSession,
                   options: AskOptions | None = None) -> Iterator[Event]:
        """Answer the last user message again, replacing the last answer."""
        return _read(self.start_regenerate(session, options))

    def edit_last(self, session: ChatSession, text: str,
                  options: AskOptions | None = None) -> Iterator[Event]:
        """Replace the last user message with ``text`` and answer it afresh."""
        return _read(self.start_edit(session, text, options))

    def running(self, session_id: str) -> AnswerRun | None:
        """The answer in flight in this chat, if any."""
        with self._runs_lock:
            return self._runs.get(session_id)

    def answering(self) -> set[str]:
        """The chats with an answer in flight."""
        with self._runs_lock:
            return set(self._runs)

    def _start(self, session: ChatSession, question: str, options: AskOptions | None,
               begin: Callable[[Answerer, TurnIds, AskOptions], Iterator[Event]], *,
               replaced: tuple[str, ...] = (), new_question: bool = True) -> AnswerRun:
        options = options or AskOptions()
        run = AnswerRun(session, question, TurnIds(), options, replaced, new_question)
        scheduler = self._core.scheduler
        waiting = scheduler.busy(Lane.MODEL)
        with self._runs_lock:
            self._runs[session.id] = run
        if waiting:
            run.publish(Notice("Waiting for the answer in progress to finish…"))

        def work() -> None:
            try:
                with scheduler.answering():
                    try:
                        events = begin(self.answerer, run.ids, options)
                    except LoremindError as exc:  # nothing to answer again, say
                        run.publish(Failed(exc))
                        return
                    for event in self._announced(session, events):
                        run.publish(event)
            finally:
                self._ended(run)

        run.job = scheduler.submit(work, owner=f"chat:{session.id}",
                                   title=f"Answering “{session.title}”", lane=Lane.MODEL,
                                   cancel=options.cancel)
        run.job.future.add_done_callback(lambda _f: self._ended(run))
        if run.announced:  # the chat list marks stored chats that are answering
            self._core.changes.publish(Change(Area.CHATS, "answering", (session.id,)))
        return run

    @property
    def answerer(self) -> Answerer:
        """The one answerer of this core's chats (it keeps the measured prompt speed)."""
        if self._answerer is None:
            parts = self._core.parts
            self._answerer = Answerer(parts, reranker=lambda: parts.reranker)
        return self._answerer

    def _ended(self, run: AnswerRun) -> None:
        if run.ended:
            return
        run.end()
        with self._runs_lock:
            if self._runs.get(run.session.id) is run:
                del self._runs[run.session.id]
        if run.announced:
            self._core.changes.publish(Change(Area.CHATS, "answer ended", (run.session.id,)))

    # -- stored chats --------------------------------------------------------------------------

    def list(self) -> list[ChatSession]:
        """Stored chats, most recent first (messages not loaded)."""
        return self._core.parts.conversations.list()

    def get(self, session_id: str) -> ChatSession:
        """A stored chat with its messages."""
        return self._core.parts.conversations.get(session_id)

    def find(self, query: str) -> builtins.list[str]:
        """Ids of the chats whose title or messages match ``query`` by words or meaning."""
        return self._core.parts.conversations.find_chats(query)

    def search(self, query: str, k: int = 10) -> builtins.list[SessionHit]:
        """Past messages matching ``query``, across chats."""
        return self._core.parts.conversations.search(query, k)

    def rename(self, session_id: str, title: str) -> Change:
        """Give a stored chat a new title."""
        session = self._core.parts.conversations.rename(session_id, title)
        return self._core.changes.publish(Change(Area.CHATS, "renamed", (session.id,)))

    def save_settings(self, session: ChatSession) -> Change | None:
        """Store a chat's own settings (system prompt, sampling, knowledge); a chat not stored
        yet keeps them until its first message."""
        if session.temporary or not session.messages:
            return None
        self._core.parts.conversations.save_session(session)
        return self._core.changes.publish(Change(Area.CHATS, "settings", (session.id,)))

    def choose_version(self, session: ChatSession, message: ChatMessage,
                       index: int) -> ChatMessage:
        """Show another answer of the same turn; the next question follows the one shown."""
        from assistant.chat.versions import choose_version

        return choose_version(self._core.parts.conversations, session, message, index)

    def export(self, session: ChatSession, path: Path) -> Path:
        """Write a chat as Markdown or JSON (the file's suffix picks which), never into the
        data folder, where deleting the chat could not reach the copy."""
        from assistant.chat.export import export_chat

        return export_chat(session, path, self._core.paths.data_dir)

    def import_(self, source: Path | dict[str, Any]) -> ChatSession:
        """Store a chat exported as JSON (a file, or its data: an undone delete, whose Teach
        examples are marked again)."""
        from assistant.chat.chat_file import check_teach_examples
        from assistant.chat.export import import_chat
        from assistant.training.chat_examples import ChatExample

        examples = []
        if isinstance(source, dict):
            examples = check_teach_examples(source)  # before anything is stored
        session = import_chat(self._core.parts.conversations, source)
        ids = {m.id for m in session.messages}
        self._core.teach.examples.put_back([ChatExample(session.id, **e) for e in examples
                                            if e["message_id"] in ids])
        self._core.changes.publish(Change(Area.CHATS, "imported", (session.id,)))
        return session

    def delete(self, session_id: str) -> Change:
        """Delete a stored chat for good, with every trace of it (see :meth:`take_out`); an
        answer in flight is stopped."""
        session = self._core.parts.conversations.get(session_id)
        self._erase(session.id)
        return self._core.changes.publish(Change(Area.CHATS, "deleted", (session.id,)))

    def take_out(self, session_id: str) -> dict[str, Any]:
        """Delete a stored chat for good and return a copy of it, to undo with
        :meth:`import_` (the copy lives in memory only, never on disk).

        Every trace goes: its messages (no older table version keeps them), the Teach
        examples marked from it (rewrites included), the memories proposed from it and never
        accepted, and what the model keeps of it in memory.
        """
        from assistant.chat.chat_file import TEACH_EXAMPLES
        from assistant.chat.export import chat_to_json

        session = self._core.parts.conversations.get(session_id)
        copy = chat_to_json(session)
        copy[TEACH_EXAMPLES] = [{"message_id": e.message_id, "rewrite": e.rewrite,
                                 "marked_at": e.marked_at} for e in self._erase(session.id)]
        self._core.changes.publish(Change(Area.CHATS, "deleted", (session.id,)))
        return copy

    def _erase(self, session_id: str) -> builtins.list[Any]:
        """Delete chat ``session_id`` everywhere (stopping an answer in flight first); returns
        the Teach examples it had."""
        run = self.running(session_id)
        if run is not None:
            run.cancel()
            run.wait(5.0)
        parts = self._core.parts
        parts.conversations.delete(session_id)
        model = parts.loaded_model
        if model is not None:
            model.forget_chat(session_id)
        if parts.memory.erase_proposals_from(session_id):
            self._core.changes.publish(Change(Area.MEMORY, "erased"))
        # Last: should the examples file be unreadable, the chat itself is gone already.
        return self._core.teach.examples.forget_chat(session_id)

    def _announced(self, session: ChatSession, events: Iterator[Event]) -> Iterator[Event]:
        """Pass the events through; then say the chat changed, and memory if one was proposed."""
        proposed: builtins.list[str] = []
        finished = asked = False
        for event in events:
            if isinstance(event, MemoryProposed):
                proposed.append(event.memory.id)
            finished = finished or isinstance(event, Done)
            if isinstance(event, Sources) and not asked and not session.temporary:
                asked = True  # the question is stored: a new chat is in the list now
                self._core.changes.publish(Change(Area.CHATS, "asked", (session.id,)))
            yield event
        if proposed:
            self._core.changes.publish(Change(Area.MEMORY, "proposed", tuple(proposed)))
        if finished and not session.temporary:
            self._core.changes.publish(Change(Area.CHATS, "answered", (session.id,)))


def _last_user(session: ChatSession) -> int:
    """The index of the chat's last user message (-1 when it has none)."""
    return max((i for i, m in enumerate(session.messages) if m.role == "user"), default=-1)


def _read(run: AnswerRun) -> Iterator[Event]:
    """A run's events for a reader that owns it: one that stops reading stops the answer."""
    try:
        yield from run.events()
    finally:
        if not run.ended:
            run.cancel()
