"""Why an adapter cannot be used, in words for people; the precise reason stays for details.

The checks in :mod:`assistant.engine.adapter_files` name tensors and shapes, which is what a
developer needs and what a user cannot act on. (Outside ``assistant.engine``, whose package
imports llama.cpp: the window imports this before the model loads.)
"""

from __future__ import annotations

_OTHER_MODEL = ("LoRA weights of shapes", "which the model does not have", "architecture")


def plain_reason(reason: str) -> str:
    """A short, actionable version of an incompatible adapter's ``reason``."""
    if any(marker in reason for marker in _OTHER_MODEL):
        return ("was trained for a different model than the one loaded: choose that model in "
                "Settings to use it")
    if "cannot compute with" in reason or "not a multiple of" in reason:
        return "is stored in a format llama.cpp cannot apply: convert it again as f16"
    return reason
