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
     │    └── DocumentBudgetError    it took too long to read, or unpacks too large (skipped)
     ├── InstanceError      the running app can't be reached over its local socket
     ├── UserFileError      a file the user named can't be read or written as asked
     └── ConnectionsError   another app's call can't be served (Connections: MCP and the local API)
          ├── UnknownTokenError      no registered app has that token (HTTP 401)
          ├── NotPermittedError      the app is switched off, or may not do that (HTTP 403)
          └── BadCallError           the call is malformed, unknown or too large (HTTP 400)
               ├── UnknownNameError  it names a model or a route that does not exist (HTTP 404)
               └── TooLargeError     an argument or a body is over its limit (HTTP 413)

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


class DocumentBudgetError(DocumentError):
    """A document took longer than its time budget to read, or unpacks larger than its size
    budget; raised inside a parser's loops and recorded as "skipped" with this reason."""


class InstanceError(LoremindError):
    """The running instance could not be reached, or its socket folder is not safe to use."""


class UserFileError(LoremindError):
    """A file the user named cannot be used as asked: missing, a folder, a device or a pipe,
    too large, or in a folder that does not exist or cannot be written."""


class ConnectionsError(LoremindError):
    """Another app's call (over MCP or the local API) cannot be served; nothing was stored."""


class UnknownTokenError(ConnectionsError):
    """The token matches no app registered in Loremind → Connections."""


class NotPermittedError(ConnectionsError):
    """The app is switched off, Connections are off, or the app may not do what it asked."""


class BadCallError(ConnectionsError):
    """An app's call is malformed or names something unknown (a tool, a model, a field)."""


class TooLargeError(BadCallError):
    """An argument or a request body is larger than Loremind accepts."""


class UnknownNameError(BadCallError):
    """An app's call names a model (or a route) that Loremind does not have."""
