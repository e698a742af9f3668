"""An answer in flight, owned by its chat rather than by a screen.

The core runs every answer as a job on its model lane and keeps its events in an
:class:`AnswerRun`: a front end that shows the chat follows the run (it gets the events so far,
then each new one), stops following when the user moves to another chat, and follows again
when they come back; the answer goes on meanwhile and is stored as usual. The command line
reads the same run as a plain iterator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from assistant.chat.events import Done, Event, Failed

if TYPE_CHECKING:
    from assistant.chat.answering import AskOptions, TurnIds
    from assistant.chat.conversations import ChatSession
    from assistant.core.scheduler import Job

Follower = Callable[[Event], None]


class AnswerRun:
    """One answer's events, kept until it ends, for every front end that follows it."""

    def __init__(self, session: ChatSession, question: str, ids: TurnIds, options: AskOptions,
                 replaced: tuple[str, ...] = (), new_question: bool = True) -> None:
        self.session = session
        self.question = question
        self.ids = ids
        self.options = options
        self.new_question = new_question  # False when an answer is given again (regenerate)
        # Stored messages this answer replaces (the answer given again, the question edited):
        # a view shows the run in their place.
        self.replaced = replaced
        self.announced = not session.temporary  # a stored chat: its start and end are news
        self.job: Job | None = None
        self._events: list[Event] = []
        self._followers: list[Follower] = []
        self._changed = threading.Condition()
        self._ended = False

    @property
    def in_flight_ids(self) -> set[str]:
        """Ids of the messages this answer adds or replaces: a view that shows the chat draws
        them from the run, not from the chat's stored messages."""
        return {self.ids.question if self.new_question else "", self.ids.answer,
                *self.replaced} - {""}

    @property
    def ended(self) -> bool:
        return self._ended

    def publish(self, event: Event) -> None:
        """Record one event and hand it to every follower (on the answering thread)."""
        with self._changed:
            self._events.append(event)
            followers = list(self._followers)
            self._changed.notify_all()
        for follower in followers:
            follower(event)

    def end(self) -> None:
        """No more events: make sure the last one says how it ended, and wake the readers."""
        with self._changed:
            if self._ended:
                return
            closed = any(isinstance(e, Done | Failed) for e in self._events)
        if not closed:
            from assistant.errors import LoremindError

            self.publish(Failed(LoremindError("The answer was stopped before it began.")))
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def follow(self, follower: Follower) -> tuple[list[Event], Callable[[], None]]:
        """The events so far and, from now on, each new one passed to ``follower``; returns
        the events so far and a function that stops following."""
        with self._changed:
            so_far = list(self._events)
            self._followers.append(follower)

        def unfollow() -> None:
            with self._changed:
                if follower in self._followers:
                    self._followers.remove(follower)

        return so_far, unfollow

    def events(self) -> Iterator[Event]:
        """Every event of the answer, from the first, blocking until the next one comes."""
        index = 0
        while True:
            with self._changed:
                while index >= len(self._events) and not self._ended:
                    self._changed.wait(0.25)
                if index >= len(self._events):
                    return
                event = self._events[index]
            index += 1
            yield event

    def cancel(self) -> None:
        """Stop the answer (the text so far is kept, as with the Stop button)."""
        self.options.cancel.set()
        if self.job is not None:
            self.job.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the answer has ended (True) or ``timeout`` passes."""
        with self._changed:
            return self._changed.wait_for(lambda: self._ended, timeout)
