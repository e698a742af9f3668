"""What a connected app may send: each argument checked before anything runs or is stored.

The same limits apply over MCP and over the local API, and each refusal names the argument and
the limit, so the app's user can see what to change.
"""

from __future__ import annotations

from typing import Any

from assistant.errors import BadCallError, TooLargeError

MAX_QUERY_CHARS = 2_000  # a search or a question about memories
MAX_RESULTS = 20  # passages or memories per call
MAX_MEMORY_CHARS = 500  # a proposed memory is a fact or a preference, not a document
MAX_EMBED_INPUTS = 256
MAX_EMBED_CHARS = 20_000  # per text (the embedder reads its first 256 word pieces anyway)
MAX_MESSAGES = 500
MAX_CHAT_CHARS = 200_000  # all the messages of one chat request together
MAX_BODY_BYTES = 2 * 1024 * 1024  # an HTTP request body


def text_argument(name: str, value: Any, limit: int) -> str:
    """``value`` as non-empty text of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise BadCallError(f"'{name}' must be text, not {_kind(value)}.")
    text = value.strip()
    if not text:
        raise BadCallError(f"'{name}' is empty.")
    if len(text) > limit:
        raise TooLargeError(f"'{name}' has {len(text):,} characters; Loremind takes at most "
                            f"{limit:,}.")
    return text


def count_argument(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as a whole number from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadCallError(f"'{name}' must be a whole number, not {_kind(value)}.")
    if not low <= value <= high:
        raise BadCallError(f"'{name}' must be from {low} to {high}, not {value}.")
    return value


def number_argument(name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a number from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise BadCallError(f"'{name}' must be a number, not {_kind(value)}.")
    if not low <= value <= high:
        raise BadCallError(f"'{name}' must be from {low:g} to {high:g}, not {value}.")
    return float(value)


def _kind(value: Any) -> str:
    return {str: "text", bool: "true/false", int: "a number", float: "a number",
            list: "a list", dict: "an object", type(None): "null"}.get(type(value),
                                                                     type(value).__name__)
