"""Loremind's exception tree: every error a person may see, each with a message they can act on.

    LoremindError
     ├── ConfigError        a settings file or value is wrong
     ├── ModelError         a model file can't be used (missing, not GGUF, truncated, wrong kind, …)
     │    ├── ContextOverflowError   a prompt does not fit the model's context window
     │    └── RemoteEngineError      an OpenAI-compatible server could not answer
     ├── AdapterError       a LoRA adapter can't be applied
     │    └── TrainingError       an adapter can't be trained (data, architecture, memory, cancel)
     ├── StoreError         the local database can't be read or written
     │    └── ReadOnlyStoreError     a shared store that another machine writes
     ├── DocumentError      a document can't be parsed (recorded per file, never fatal to a run)
     └── InstanceError      the running app can't be reached over its local socket

Library exceptions (llama_cpp, lancedb, OSError) are wrapped at the boundary with
``raise … from exc``.
"""

from __future__ import annotations


class LoremindError(Exception):
    """Base of every error Loremind raises on purpose; its message is meant for the user."""


class ConfigError(LoremindError):
    """A settings file or value is invalid; the message names the key and the file."""


class ModelError(LoremindError):
    """A model file cannot be loaded or used."""


class ContextOverflowError(ModelError):
    """A prompt needs more tokens than the model's context window holds."""

    def __init__(self, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        super().__init__(
            f"The prompt needs {needed} tokens but the context window holds {available}. "
            "Shorten the message or raise the context size in the settings."
        )


class AdapterError(LoremindError):
    """A LoRA adapter cannot be loaded or applied to the current model."""


class TrainingError(AdapterError):
    """Training an adapter cannot start or did not finish; nothing was added to the adapters."""


class StoreError(LoremindError):
    """The local database could not be read or written."""


class ReadOnlyStoreError(StoreError):
    """A write to a shared store that this machine only reads (another machine writes it)."""


class RemoteEngineError(ModelError):
    """A remote engine (an OpenAI-compatible server) could not be reached or did not answer."""


class DocumentError(LoremindError):
    """A document could not be read or parsed."""


class InstanceError(LoremindError):
    """The running instance could not be reached, or its socket folder is not safe to use."""
