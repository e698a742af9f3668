"""What the chat facade needs from an engine, whether it runs in-process or on a server.

:class:`~assistant.engine.model.LocalModel` (llama.cpp in this process) and
:class:`~assistant.engine.remote.RemoteModel` (an OpenAI-compatible server) both satisfy
:class:`ChatEngine`; the facade, the prompt planner and memory extraction use nothing else, so they
work unchanged on either.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from typing import Any, Protocol, runtime_checkable

from assistant.engine.chat_template import Message
from assistant.engine.model import SamplingParams, TokenStream


@runtime_checkable
class ChatEngine(Protocol):
    """A chat model that counts tokens, streams answers and writes schema-shaped JSON."""

    #: Held across choosing a chat's adapters and the generation that follows.
    lock: threading.RLock

    @property
    def n_ctx(self) -> int:
        """The context window in tokens: prompt and answer together must fit in it."""
        ...

    @property
    def model_id(self) -> str:
        """What a chat records as its model: a file path, or the server and model name."""
        ...

    @property
    def engine_label(self) -> str:
        """A short name of the engine for people ("local", or the server's address)."""
        ...

    @property
    def display_name(self) -> str:
        """The model's name for people (a window title, ``loremind chat``)."""
        ...

    @property
    def template_note(self) -> str:
        """What the user should know about the model's chat format ("" when all is well):
        a model without a chat template is probably a base model."""
        ...

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """How many tokens ``messages`` take, never fewer than the engine will count."""
        ...

    def stream_chat(
        self,
        messages: Sequence[Message],
        params: SamplingParams | None = None,
        *,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
    ) -> TokenStream:
        """Stream the assistant's reply to ``messages``; ``cancel`` stops it early."""
        ...

    def generate_json(self, messages: Sequence[Message], schema: dict[str, Any],
                      max_tokens: int = 160) -> str:
        """Greedy JSON text for ``messages`` shaped by ``schema`` (may be cut at max_tokens)."""
        ...

    def leave_chat(self, key: Hashable) -> None:
        """The chat filed under ``key`` takes over from the one the engine served last: keep
        what the previous chat had computed, if the engine can."""
        ...

    def enter_chat(self, key: Hashable) -> bool:
        """Bring back what was kept for the chat ``key``; True when something was."""
        ...

    def forget_chat(self, session_id: str) -> None:
        """Drop whatever is kept of chat ``session_id`` (it is being deleted)."""
        ...

    def close(self) -> None:
        """Release what the engine holds (memory, connections)."""
        ...
