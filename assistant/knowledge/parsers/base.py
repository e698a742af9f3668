"""What a parser returns, and the text decoding every text format shares."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

from assistant.errors import DocumentBudgetError

COMMON_ENCODINGS = ("cp1252", "iso8859_15", "latin_1")
UNPACK_FACTOR = 4  # a packed document (docx) may unpack to this many times the file size limit
NEAR_TIE_CHAOS = 0.05


@dataclass(frozen=True)
class Skipped:
    """A document deliberately left out, and why (too large, binary, empty, a special file):
    an expected outcome, returned as a value; failures to read or parse raise DocumentError."""

    reason: str


@dataclass
class Section:
    """A run of text under one heading trail, on one page (0 when the format has no pages)."""

    text: str
    heading: str = ""
    page: int = 0


@dataclass
class ParsedDocument:
    """The readable text of a file, in order, cut at headings and pages."""

    sections: list[Section] = field(default_factory=list)

    def add(self, text: str, heading: str = "", page: int = 0) -> None:
        """Append a section, dropping it when it holds only whitespace."""
        if text.strip():
            self.sections.append(Section(text.strip(), heading, page))


class ReadBudget:
    """How long one document may take to read, and how large its parts may unpack: parsers
    check it inside their loops, so one odd file cannot hold up the folder behind it."""

    def __init__(self, seconds: float = math.inf, max_bytes: int | None = None) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._deadline = time.monotonic() + seconds

    def check(self) -> None:
        """Raise :class:`DocumentBudgetError` once the time is up."""
        if time.monotonic() > self._deadline:
            raise DocumentBudgetError(time_reason(self.seconds))

    def check_size(self, size: int, what: str) -> None:
        """Raise :class:`DocumentBudgetError` when ``what`` unpacks to more than allowed."""
        if self.max_bytes is not None and size > self.max_bytes:
            raise DocumentBudgetError(f"{what} unpacks to {size / 2**20:.0f} MB, more than the "
                                      f"{self.max_bytes / 2**20:.0f} MB a document may unpack "
                                      f"to ({UNPACK_FACTOR} × knowledge.max_file_mb)")


_TIME_PREFIX = "took longer than "


def time_reason(seconds: float) -> str:
    """The reason recorded for a document that ran out of time."""
    return f"{_TIME_PREFIX}{seconds:g} s to read (knowledge.max_read_seconds)"


def timed_out_after(reason: str) -> float | None:
    """The budget a recorded :func:`time_reason` names, or None for any other reason."""
    if not reason.startswith(_TIME_PREFIX):
        return None
    try:
        return float(reason[len(_TIME_PREFIX):].split(" ", 1)[0])
    except ValueError:
        return None


def decode_text(data: bytes) -> str | Skipped:
    """Bytes to text: UTF-8 when it is, else the encoding charset-normalizer detects; binary
    content is skipped."""
    if b"\x00" in data[:8192]:
        return Skipped("binary content behind a text extension")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    results = from_bytes(data[:200_000])
    best = results.best()
    if best is None or best.encoding is None:
        return Skipped("binary content behind a text extension (no text encoding fits)")
    # Short Western texts fit several code pages almost equally; the most common one wins ties.
    near = [r for r in results if r.chaos <= best.chaos + NEAR_TIE_CHAOS]
    chosen = next((r for r in near if r.encoding in COMMON_ENCODINGS), best)
    return data.decode(chosen.encoding, errors="replace")


class HeadingTrail:
    """The headings above the current line, e.g. ``Install > Linux``."""

    def __init__(self) -> None:
        self._levels: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        """A heading of ``level`` (1 = top) replaces every heading at that level or deeper."""
        self._levels = [(lvl, t) for lvl, t in self._levels if lvl < level]
        self._levels.append((level, title.strip()))

    def __str__(self) -> str:
        return " > ".join(title for _, title in self._levels if title)
