"""A chat request from another app, as the core takes it: the messages, the model name (which
picks adapters) and the request's own switches."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from assistant.connections.limits import MAX_CHAT_CHARS, MAX_MESSAGES
from assistant.errors import BadCallError, TooLargeError, UnknownNameError

# The model in use, whatever file it is; "loremind:ADAPTER[:SCALE]" adds an adapter.
MODEL_NAME = "loremind"
EMBEDDING_MODEL = "loremind-embeddings"
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class AppQuestion:
    """One chat request: ``messages`` (role, text) end with the user's question."""

    messages: tuple[tuple[str, str], ...]
    model: str = MODEL_NAME
    knowledge: bool = True  # the request's own switch; the app's permissions and settings apply
    memory: bool = True
    temporary: bool = False  # as a temporary chat: no memories read
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if not self.messages:
            raise BadCallError("'messages' is empty: send at least the user's question.")
        if len(self.messages) > MAX_MESSAGES:
            raise TooLargeError(f"'messages' has {len(self.messages)} messages; Loremind takes "
                                f"at most {MAX_MESSAGES}.")
        for index, (role, _text) in enumerate(self.messages):
            if role not in ROLES:
                raise BadCallError(f"messages[{index}].role is '{role}'; Loremind takes "
                                   f"{', '.join(ROLES)}.")
        total = sum(len(text) for _role, text in self.messages)
        if total > MAX_CHAT_CHARS:
            raise TooLargeError(f"The messages have {total:,} characters; Loremind takes at "
                                f"most {MAX_CHAT_CHARS:,}.")
        if self.messages[-1][0] != "user" or not self.messages[-1][1].strip():
            raise BadCallError("The last message must be the user's question, with some text.")

    @property
    def question(self) -> str:
        """The user's question (the last message)."""
        return self.messages[-1][1]

    @property
    def system_prompt(self) -> str | None:
        """The app's own system messages, joined; None: Loremind's."""
        texts = [text.strip() for role, text in self.messages if role == "system" and text.strip()]
        return "\n\n".join(texts) or None

    @property
    def history(self) -> list[tuple[str, str]]:
        """The turns before the question (user and assistant only)."""
        return [(role, text) for role, text in self.messages[:-1] if role != "system"]


def adapters_of(model: str) -> list[tuple[str, float]]:
    """The adapters a model name asks for: "loremind" none, "loremind:NAME[:SCALE]" one."""
    base, _, rest = model.partition(":")
    if base != MODEL_NAME:
        raise UnknownNameError(f"The model '{model}' does not exist here: use '{MODEL_NAME}' (the "
                           f"model in use) or '{MODEL_NAME}:ADAPTER' (GET /v1/models lists them).")
    if not rest:
        return []
    name, _, scale = rest.partition(":")
    try:
        value = float(scale) if scale else 1.0
    except ValueError:
        raise BadCallError(f"In the model '{model}', '{scale}' is not a scale (e.g. "
                           f"'{MODEL_NAME}:{name}:0.8').") from None
    if not name or not 0.0 < value <= 4.0:
        raise BadCallError(f"The model '{model}' names no adapter, or a scale outside 0–4.")
    return [(name, value)]
