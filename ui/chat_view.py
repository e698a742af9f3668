"""The conversation: its turns, the composer, and the answer in flight, followed as it streams.

Answers belong to their chat, not to this view: the core runs each one on its model lane and
keeps its events in an :class:`~assistant.core.AnswerRun`. The view *follows* the run of the
chat it shows (the events so far, then each new one, handed to the main thread); switching to
another chat stops following, not answering, and coming back follows again from the start.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ui.composer import Composer
from ui.errors import show_error
from ui.message_widgets import AssistantMessage, UserMessage, label
from ui.qt import QFrame, QHBoxLayout, QPoint, QScrollArea, Qt, QVBoxLayout, QWidget, Signal
from ui.tasks import BackgroundOp
from ui.teach_examples import offer_example

if TYPE_CHECKING:
    from assistant.core import AnswerRun, ChatSession
    from ui.app import LoremindApp

COLUMN_WIDTH = 820


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
        self._run: AnswerRun | None = None  # the run followed, while its answer is on screen
        self._unfollow: Callable[[], None] | None = None
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
        """Whether the chat on screen has an answer this view has not shown the end of (the
        run ends on its lane a moment before its last event reaches the screen)."""
        return self._run is not None

    # -- which chat ------------------------------------------------------------------------------

    def show_session(self, session: ChatSession) -> None:
        """Show ``session`` and its stored turns; an answer in flight in it is followed (an
        answer in the chat shown before goes on without this view)."""
        self._stop_following()
        run = self.app.core.chat.running(session.id)
        if run is not None:
            session = run.session  # the chat object the answer writes to
        self.session = session
        for widget in self._turns:
            widget.setParent(None)
            widget.deleteLater()
        self._turns = []
        self.composer.cancel_edit()
        hidden = run.in_flight_ids if run is not None else set()
        for message in list(session.messages):
            if message.id in hidden:
                continue
            if message.role == "user":
                self._add(UserMessage(message.text))
            elif message.role == "assistant":
                answer = self._new_answer()
                answer.set_memories([m.get("text", "") for m in message.memories_used])
                answer.set_sources(message.sources)
                answer.finish(message.text, message.stats)
                answer.message_id = message.id
                answer.set_versions(len(message.versions), message.version)
        if run is not None:
            if run.new_question:
                self._add(UserMessage(run.question))
            self._follow_run(run)
        self._mark_last()
        self._set_busy()
        self._at_bottom = True
        self.composer.edit.setFocus()

    # -- answers ---------------------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Ask the assistant (or, while editing, replace the last message and ask again)."""
        from assistant.core import AskOptions

        chat = self.app.core.chat
        if not self.app.takes_questions or self.session is None or self.busy:
            return
        session = self.session
        if self.composer.editing:
            self.composer.finish_edit()
            self._drop_from_last_user()
            start: Callable[[], AnswerRun] = functools.partial(chat.start_edit, session, text,
                                                               AskOptions())
        else:
            start = functools.partial(chat.start, session, text, AskOptions())
        self.composer.edit.clear()
        self._add(UserMessage(text))
        self._begin(start)

    def regenerate(self) -> None:
        """Answer the last message again, replacing the last answer."""
        from assistant.core import AskOptions

        if not self.app.takes_questions or self.session is None or self.busy:
            return
        if self._turns and isinstance(self._turns[-1], AssistantMessage):
            self._remove(self._turns[-1])
        self._begin(functools.partial(self.app.core.chat.start_regenerate, self.session,
                                      AskOptions()))

    def edit_last(self) -> None:
        """Put the last user message in the composer to be changed and sent again."""
        users = [t for t in self._turns if isinstance(t, UserMessage)]
        if users and not self.busy:
            self.composer.start_edit(users[-1].text)

    def stop(self) -> None:
        """Stop the answer of the chat on screen (the text so far is kept)."""
        if self._run is not None:
            self._run.cancel()

    def _begin(self, start: Callable[[], AnswerRun]) -> None:
        try:
            run = start()
        except Exception as exc:  # the core refused before anything ran
            show_error(self, exc)
            return
        self._at_bottom = True
        self._follow_run(run)
        self._set_busy()

    def _follow_run(self, run: AnswerRun) -> None:
        """Show ``run``'s answer: a bubble with the events so far, then each new one."""
        self._run = run  # busy first: no bubble offers to answer again while this one writes
        answer = self._new_answer()
        post = self.app.tasks.post
        so_far, self._unfollow = run.follow(
            lambda event: post(functools.partial(self._on_event, run, answer, event)))
        for event in so_far:
            self._on_event(run, answer, event)

    def _stop_following(self) -> None:
        if self._unfollow is not None:
            self._unfollow()
        self._unfollow = None
        self._run = None

    def _on_event(self, run: AnswerRun, answer: AssistantMessage, event: Any) -> None:
        from assistant.core import (
            Done,
            Failed,
            MemoriesUsed,
            MemoryProposed,
            Notice,
            Sources,
            Token,
        )

        if run is not self._run:
            return  # the user moved to another chat; this answer is no longer on screen
        if isinstance(event, Token):
            answer.append(event.text)
        elif isinstance(event, Sources):
            answer.set_sources([c.to_json() for c in event.citations])
        elif isinstance(event, MemoriesUsed):
            answer.set_memories([m.text for m in event.memories])  # exactly what it was given
        elif isinstance(event, MemoryProposed):
            answer.add_proposal(event.memory, event.replaces)
        elif isinstance(event, Notice):
            answer.add_notice(event.text)
        elif isinstance(event, Done):
            answer.finish(event.text, event.stats)
            message = next((m for m in reversed(run.session.messages)
                            if m.id == event.message_id), None)
            if message is not None:
                answer.message_id = message.id
                answer.set_versions(len(message.versions), message.version)
        elif isinstance(event, Failed):
            answer.fail("No answer: " + event.message)
        self.event_shown.emit(event)
        if isinstance(event, Done | Failed):
            self._answer_ended(run)
        if isinstance(event, Failed):
            show_error(self, event.error)

    def _answer_ended(self, run: AnswerRun) -> None:
        self._stop_following()
        self._set_busy()
        self._mark_last()
        self.session_updated.emit(run.session)

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

    def _set_busy(self) -> None:
        busy = self.busy
        self.composer.set_busy(busy)
        self.busy_changed.emit(busy)

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
