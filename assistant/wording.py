"""Counted nouns for people: "1 example", "2 examples" (never "1 examples")."""

from __future__ import annotations


def plural(count: int, noun: str, many: str = "") -> str:
    """``count`` and ``noun``, the noun in the plural (``many``, else noun + "s") unless the
    count is one."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"
