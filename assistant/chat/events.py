"""The typed events of one answer, consumed alike by the Qt GUI, the quick-ask popup and the CLI.

An answer's stream is: ``Sources`` and ``MemoriesUsed`` (what the answer may draw on), ``Notice``s
(zero or more), ``Token``s, ``MemoryProposed`` (zero or more), then exactly one ``Done`` or
``Failed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.errors import LoremindError

if TYPE_CHECKING:  # the memory book imports LanceDB: a first answer must not wait for it
    from assistant.memory.book import Memory


@dataclass(frozen=True)
class Citation:
    """A knowledge chunk given to the model as source ``[number]``."""

    number: int
    path: str
    page: int
    heading: str
    text: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Token:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class Sources:
    """The numbered knowledge chunks the model was given (empty when none was relevant)."""

    citations: list[Citation]


@dataclass(frozen=True)
class MemoriesUsed:
    """The memories put into the prompt."""

    memories: list[Memory]


@dataclass(frozen=True)
class MemoryProposed:
    """A memory from this turn: ``pending`` awaits approval; ``active`` was asked for or
    auto-approved. ``replaces`` is the memory it would update, if any."""

    memory: Memory
    replaces: Memory | None = None


@dataclass(frozen=True)
class Notice:
    """Something the user should know about this answer (e.g. an adapter that is gone)."""

    text: str


@dataclass(frozen=True)
class AnswerStats:
    """What the answer cost and what it ran with."""

    prompt_tokens: int = 0
    evaluated_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float = 0.0
    seconds: float = 0.0
    finish_reason: str = ""
    adapters: list[dict[str, Any]] = field(default_factory=list)
    dropped_turns: int = 0
    engine: str = ""  # which engine answered: "local", or the server's address


@dataclass(frozen=True)
class Done:
    """The answer is complete; ``text`` is all of it, ``message_id`` its stored id."""

    text: str
    stats: AnswerStats
    message_id: str


@dataclass(frozen=True)
class Failed:
    """The answer could not be produced; ``error`` says why in words a person can act on."""

    error: LoremindError

    @property
    def message(self) -> str:
        return str(self.error)


Event = Token | Sources | MemoriesUsed | MemoryProposed | Notice | Done | Failed


def event_to_json(event: Event) -> dict[str, Any]:
    """An event as one JSON object with its ``kind``: what ``loremind ask`` prints from, and
    what the running app sends it over the socket."""
    if isinstance(event, Token):
        return {"kind": "token", "text": event.text}
    if isinstance(event, Notice):
        return {"kind": "notice", "text": event.text}
    if isinstance(event, Sources):
        return {"kind": "sources", "citations": [c.to_json() for c in event.citations]}
    if isinstance(event, MemoriesUsed):
        return {"kind": "memories_used",
                "memories": [{"id": m.id, "text": m.text} for m in event.memories]}
    if isinstance(event, MemoryProposed):
        return {"kind": "memory_proposed", "memory": event.memory.to_json(),
                "replaces": event.replaces.to_json() if event.replaces else None}
    if isinstance(event, Done):
        return {"kind": "done", "text": event.text, "stats": asdict(event.stats),
                "message_id": event.message_id}
    return {"kind": "failed", "message": event.message}
