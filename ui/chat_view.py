"""The conversation: its turns, the composer, and the answer streaming in from the model lane.

Every answer runs on the ``model`` lane; its events come back to the main thread one by one
through :meth:`TaskManager.post`. An answer belongs to a "run": when the user switches chats the
run is cancelled and its late events are ignored, so no event reaches a widget that is gone.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ui.composer import Composer
from ui.errors import show_error
from ui.message_widgets import AssistantMessage, UserMessage, label
from ui.qt import QFrame, QHBoxLayout, QPoint, QScrollArea, Qt, QVBoxLayout, QWidget, Signal
from ui.tasks import BackgroundOp
from ui.teach_examples import offer_example

if TYPE_CHECKING:
    from assistant.core import ChatSession
    from ui.app import LoremindApp

COLUMN_WIDTH = 820
_runs = itertools.count(1)


class ChatView(QWidget):
    """One chat on screen, and the controller of its answers."""

    session_updated = Signal(object)  # the chat was stored or renamed: refresh the chat list
    busy_changed = Signal(bool)
    event_shown = Signal(object)  # an event of the answer on screen (Token, Done, Failed, …)

    def __init__(self, app: LoremindApp, parent: QWidget | None = None,
                 compact: bool = False) -> None:
        super().__init__(parent)
        self.app = app
        self.compact = compact  # the quick-ask popup: narrow margins, a one-line empty state
        side = 12 if compact else 24
        self.session: ChatSession | None = None
        self._run_id = 0
        self._cancel: threading.Event | None = None
        self._turns: list[QWidget] = []
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        canvas = QWidget()
        canvas.setObjectName("MessageList")
        centre = QHBoxLayout(canvas)
        centre.setContentsMargins(side, 12 if compact else 18, side, 12 if compact else 18)
        column = QWidget()
        column.setObjectName("ChatColumn")
        column.setMaximumWidth(COLUMN_WIDTH)
        self.turns = QVBoxLayout(column)
        self.turns.setContentsMargins(0, 0, 0, 0)
        self.turns.setSpacing(10)
        self.empty = self._empty_state()
        self.turns.addWidget(self.empty)
        self.turns.addStretch()
        centre.addWidget(column)
        self.scroll_area.setWidget(canvas)
        self.scroll_area.verticalScrollBar().rangeChanged.connect(self._follow)
        self._at_bottom = True
        self._target = 0  # where following the answer last scrolled to
        self.scroll_area.verticalScrollBar().valueChanged.connect(self._track_bottom)
        self.composer = Composer()
        self.composer.send.connect(self.send)
        self.composer.stop.connect(self.stop)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(side, 4, side, 12 if compact else 16)
        bottom.addStretch()
        self.composer.setMaximumWidth(COLUMN_WIDTH)
        bottom.addWidget(self.composer, 100)
        bottom.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.scroll_area, 1)
        layout.addLayout(bottom)

    @property
    def busy(self) -> bool:
        return self._cancel is not None

    # -- which chat ------------------------------------------------------------------------------

    def show_session(self, session: ChatSession) -> None:
        """Show ``session`` and its stored turns (an answer still streaming is stopped)."""
        self.stop()
        self._set_busy(None)
        self._run_id = 0  # late events of the stopped answer are dropped
        self.session = session
        for widget in self._turns:
            widget.setParent(None)
            widget.deleteLater()
        self._turns = []
        self.composer.cancel_edit()
        question = ""
        for message in session.messages:
            if message.role == "user":
                self._add(UserMessage(message.text))
                question = message.text
            elif message.role == "assistant":
                answer = self._new_answer()
                self._show_memories(answer, question,
                                    [m.get("text", "") for m in message.memories_used])
                answer.set_sources(message.sources)
                answer.finish(message.text, message.stats)
                answer.message_id = message.id
                answer.set_versions(len(message.versions), message.version)
        self._mark_last()
        self._at_bottom = True
        self.composer.edit.setFocus()

    # -- answers ---------------------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Ask the assistant (or, while editing, replace the last message and ask again)."""
        chat = self.app.core.chat
        if not self.app.takes_questions or self.session is None or self.busy:
            return
        session = self.session
        start: Callable[[Any], Iterator[Any]]
        if self.composer.editing:
            self.composer.finish_edit()
            self._drop_from_last_user()
            def start(options: Any) -> Iterator[Any]:
                return chat.edit_last(session, text, options)
        else:
            def start(options: Any) -> Iterator[Any]:
                return chat.ask(session, text, options)
        self.composer.edit.clear()
        self._add(UserMessage(text))
        self._start(start)

    def regenerate(self) -> None:
        """Answer the last message again, replacing the last answer."""
        chat = self.app.core.chat
        if not self.app.takes_questions or self.session is None or self.busy:
            return
        if self._turns and isinstance(self._turns[-1], AssistantMessage):
            self._remove(self._turns[-1])
        session = self.session
        self._start(lambda options: chat.regenerate(session, options))

    def edit_last(self) -> None:
        """Put the last user message in the composer to be changed and sent again."""
        users = [t for t in self._turns if isinstance(t, UserMessage)]
        if users and not self.busy:
            self.composer.start_edit(users[-1].text)

    def stop(self) -> None:
        """Stop the answer being generated (the text so far is kept)."""
        if self._cancel is not None:
            self._cancel.set()

    def _start(self, start: Callable[[Any], Iterator[Any]]) -> None:
        from assistant.core import AskOptions

        options = AskOptions()
        run_id = next(_runs)
        self._set_busy(options.cancel, run_id)
        answer = self._new_answer()
        self._at_bottom = True
        session = self.session
        tasks = self.app.tasks

        def work() -> None:
            for event in start(options):
                tasks.post(functools.partial(self._on_event, run_id, answer, event))

        def finished(future: Any) -> None:
            if self._run_id == run_id:
                self._set_busy(None)
                self._mark_last()
                self.session_updated.emit(session)
            if future.exception() is not None:
                show_error(self, future.exception())

        tasks.run("model", work, finished)

    def _on_event(self, run_id: int, answer: AssistantMessage, event: Any) -> None:
        from assistant.core import (
            Done,
            Failed,
            MemoriesUsed,
            MemoryProposed,
            Notice,
            Sources,
            Token,
        )

        if run_id != self._run_id:
            return  # the user moved to another chat; this answer is no longer on screen
        if isinstance(event, Token):
            answer.append(event.text)
        elif isinstance(event, Sources):
            answer.set_sources([c.to_json() for c in event.citations])
        elif isinstance(event, MemoriesUsed):
            users = [t for t in self._turns if isinstance(t, UserMessage)]
            self._show_memories(answer, users[-1].text if users else "",
                                [m.text for m in event.memories],
                                [m.text for m in event.memories if m.pinned])
        elif isinstance(event, MemoryProposed):
            answer.add_proposal(event.memory, event.replaces)
        elif isinstance(event, Notice):
            answer.add_notice(event.text)
        elif isinstance(event, Done):
            answer.finish(event.text, event.stats)
            message = self.session.messages[-1] if self.session and self.session.messages \
                else None
            if message is not None and message.id == event.message_id:
                answer.message_id = message.id
                answer.set_versions(len(message.versions), message.version)
        elif isinstance(event, Failed):
            answer.fail("No answer: " + event.message)
        self.event_shown.emit(event)
        if isinstance(event, Failed):
            show_error(self, event.error)

    def decide_memory(self, memory_id: str, action: str, text: str, card: Any) -> None:
        """Approve, edit-and-approve or reject a proposed memory on the db lane."""
        memory = self.app.core.memory

        def work() -> str:
            if action == "reject":
                memory.reject(memory_id)
                return "Not remembered."
            if action == "edit":
                memory.edit(memory_id, text)
            memory.approve(memory_id)
            return "✓ Remembered. You can change it in the Memory panel."

        BackgroundOp(self, work, card.show_outcome).run(self.app.tasks, "db")

    # -- the list of turns -----------------------------------------------------------------------

    def _show_memories(self, answer: AssistantMessage, question: str, memories: list[str],
                       pinned: list[str] | None = None) -> None:
        """Show only the memories that bear on the question (worked out on the db lane)."""
        if not memories or not self.app.is_ready:
            return
        memory = self.app.core.memory
        BackgroundOp(answer, lambda: memory.relevant_texts(question, memories, pinned or ()),
                     answer.set_memories).run(self.app.tasks, "db")

    def choose_version(self, answer: AssistantMessage, index: int) -> None:
        """Show another answer of the same turn (the next question follows the one shown)."""
        session = self.session
        message = next((m for m in session.messages if m.id == answer.message_id), None) \
            if session is not None else None
        if session is None or message is None or self.busy:
            return
        chat = self.app.core.chat

        def shown(_message: object) -> None:
            answer.set_sources(message.sources)
            answer.finish(message.text, message.stats)
            answer.set_versions(len(message.versions), message.version)

        BackgroundOp(self, lambda: chat.choose_version(session, message, index),
                     shown).run(self.app.tasks, "db")

    def _new_answer(self) -> AssistantMessage:
        answer = AssistantMessage(self.app.settings.knowledge.folders)
        answer.regenerate_requested.connect(self.regenerate)
        answer.example_requested.connect(
            lambda a=answer: offer_example(self, self.app, self.session, a))
        answer.version_requested.connect(lambda index, a=answer: self.choose_version(a, index))
        answer.memory_decision.connect(
            lambda mid, action, text, a=answer: self.decide_memory(
                mid, action, text, next(c for c in a.proposals if c.memory_id == mid)))
        self._add(answer)
        return answer

    def _add(self, widget: QWidget) -> None:
        if isinstance(widget, UserMessage):
            widget.edit_requested.connect(self.edit_last)
        self._turns.append(widget)
        self.turns.insertWidget(self.turns.count() - 1, widget)
        self.empty.setVisible(False)
        self._mark_last()

    def _remove(self, widget: QWidget) -> None:
        self._turns.remove(widget)
        widget.setParent(None)
        widget.deleteLater()

    def _drop_from_last_user(self) -> None:
        users = [i for i, t in enumerate(self._turns) if isinstance(t, UserMessage)]
        if users:
            for widget in self._turns[users[-1]:]:
                self._remove(widget)

    def _mark_last(self) -> None:
        last_user = max((i for i, t in enumerate(self._turns) if isinstance(t, UserMessage)),
                        default=-1)
        for index, widget in enumerate(self._turns):
            idle_last = index == len(self._turns) - 1 and not self.busy
            if isinstance(widget, AssistantMessage):
                widget.set_last(idle_last)
            elif isinstance(widget, UserMessage):
                widget.set_last(index == last_user and not self.busy)
        self.empty.setVisible(not self._turns)

    def _set_busy(self, cancel: threading.Event | None, run_id: int = 0) -> None:
        if self._cancel is not None:
            self.app.tasks.untrack(self._cancel)
        self._cancel = cancel
        if cancel is not None:
            self.app.tasks.track(cancel)
            self._run_id = run_id
        self.composer.set_busy(cancel is not None)
        self.busy_changed.emit(cancel is not None)

    def _track_bottom(self, value: int) -> None:
        bar = self.scroll_area.verticalScrollBar()
        self._at_bottom = value >= min(bar.maximum(), self._target) - 40

    def _follow(self, _minimum: int, maximum: int) -> None:
        """Keep the latest answer's words in view as they stream in: from its question down,
        or, once the text is taller than the view, its last lines; source cards below the
        text are left to scroll to (following the bottom showed only them)."""
        if not self._at_bottom:
            return
        target = maximum
        last = self._turns[-1] if self._turns else None
        users = [t for t in self._turns if isinstance(t, UserMessage)]
        canvas = self.scroll_area.widget()
        if isinstance(last, AssistantMessage) and users and canvas is not None:
            top = users[-1].mapTo(canvas, QPoint(0, 0)).y() - 8
            text_end = last.body.mapTo(canvas, QPoint(0, last.body.height())).y()
            view = self.scroll_area.viewport().height()
            target = min(maximum, max(0, top, text_end + 40 - view))
        self._target = target
        self.scroll_area.verticalScrollBar().setValue(target)

    def _empty_state(self) -> QWidget:
        box = QFrame()
        layout = QVBoxLayout(box)
        if self.compact:
            layout.setContentsMargins(0, 24, 0, 0)
            hint = label("Ask anything: Loremind answers from your documents and what it "
                         "remembers.", "Hint", wrap=True)
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(hint)
            return box
        layout.setContentsMargins(0, 90, 0, 0)
        layout.setSpacing(10)
        title = label("What can I help you with?", "EmptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = label("Loremind answers privately on this computer, from your documents and "
                     "what you asked it to remember. Add folders in Knowledge; say "
                     "“remember that …” to keep a fact.", "Empty", wrap=True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        layout.addWidget(hint)
        return box
