"""The states things move through, as enums: compared by identity, stored as their strings.

Each is a ``StrEnum``, so a value read back from the database or JSON (a plain string) compares
equal to its member, and ``DocumentStatus(row["status"])`` turns it back into one.
"""

from __future__ import annotations

from enum import StrEnum


class DocumentStatus(StrEnum):
    """Where a file of a watched folder stands in the index."""

    INDEXED = "indexed"  # its chunks are stored and searchable
    SKIPPED = "skipped"  # deliberately left out (unsupported type, no text, too large)
    FAILED = "failed"  # it could not be read or parsed
    PENDING = "pending"  # seen but not (re-)indexed yet: the next sync does it


class MemoryStatus(StrEnum):
    """Whether a memory is used in answers, waits for approval, or was let go."""

    ACTIVE = "active"
    PENDING = "pending"
    REJECTED = "rejected"
    FORGOTTEN = "forgotten"


class FinishReason(StrEnum):
    """Why an answer ended."""

    STOP = "stop"  # the model finished
    LENGTH = "length"  # it hit the answer's token limit
    CANCELLED = "cancelled"  # the user stopped it
