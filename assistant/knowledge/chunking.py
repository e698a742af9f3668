"""Cut parsed documents into chunks that fit the embedder, at headings, paragraphs and sentences.

all-MiniLM-L6-v2 reads at most 256 word pieces and silently drops the rest, so every chunk is
measured with the embedder's own tokenizer and cut again when it would not fit.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Protocol

from assistant.knowledge.parsers import ParsedDocument

TARGET_TOKENS = 200
OVERLAP_TOKENS = 28  # about 14% of the target: a sentence or two carried into the next chunk
SEPARATOR = "\n\n"  # between sections in the document's full text (chunk offsets refer to it)
_UNIT = re.compile(r"[^\n]*?(?:[.!?](?=\s)|\n|$)")  # a sentence, or a line without one
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class TokenCounter(Protocol):
    """What chunking needs from the embedder: its limit and its tokenizer."""

    max_tokens: int

    def count_tokens(self, texts: list[str]) -> list[int]: ...

    def token_spans(self, text: str) -> list[tuple[int, int]]: ...


@dataclass
class Chunk:
    """A searchable piece of a document and where it came from."""

    ordinal: int
    text: str
    heading: str
    page: int
    start: int  # offsets in the document's full text (sections joined by SEPARATOR)
    end: int


@dataclass
class _Unit:
    start: int
    end: int
    tokens: int
    new_paragraph: bool


def chunk_document(doc: ParsedDocument, counter: TokenCounter,
                   target: int = TARGET_TOKENS, overlap: int = OVERLAP_TOKENS) -> list[Chunk]:
    """Chunks of at most ``counter.max_tokens`` word pieces, never crossing a heading or page."""
    target = min(target, counter.max_tokens)
    chunks: list[Chunk] = []
    offset = 0
    for section in doc.sections:
        for start, end in _pack(section.text, counter, target, overlap):
            text = section.text[start:end].strip()
            if text:
                lead = len(section.text[start:end]) - len(section.text[start:end].lstrip())
                chunks.append(Chunk(len(chunks), text, section.heading, section.page,
                                    offset + start + lead, offset + start + lead + len(text)))
        offset += len(section.text) + len(SEPARATOR)
    return _enforce_limit(chunks, counter)


def full_text(doc: ParsedDocument) -> str:
    """The document's text as chunk offsets see it."""
    return SEPARATOR.join(section.text for section in doc.sections)


def _units(text: str, counter: TokenCounter, target: int) -> list[_Unit]:
    breaks = [m.end() for m in _PARAGRAPH_BREAK.finditer(text)]
    spans = [(m.start(), m.end()) for m in _UNIT.finditer(text) if text[m.start():m.end()].strip()]
    counts = counter.count_tokens([text[a:b] for a, b in spans])
    units: list[_Unit] = []
    for (start, end), tokens in zip(spans, counts, strict=True):
        last_break = bisect.bisect_right(breaks, start) - 1
        fresh = start == 0 or (last_break >= 0 and not text[breaks[last_break]:start].strip())
        if tokens <= target:
            units.append(_Unit(start, end, tokens, fresh))
            continue
        # A sentence longer than a chunk: cut it at word-piece boundaries, preferring spaces.
        for piece_start, piece_end, piece_tokens in _split_long(text, start, end, counter, target):
            units.append(_Unit(piece_start, piece_end, piece_tokens, fresh))
            fresh = False
    return units


def _split_long(text: str, start: int, end: int, counter: TokenCounter,
                target: int) -> list[tuple[int, int, int]]:
    spans = counter.token_spans(text[start:end])
    pieces: list[tuple[int, int, int]] = []
    first = 0
    while first < len(spans):
        last = min(first + target, len(spans))
        if last < len(spans):
            # Back up to a token that starts after whitespace, so words stay whole when possible.
            for cut in range(last, first + target // 2, -1):
                if spans[cut][0] > 0 and text[start + spans[cut][0] - 1].isspace():
                    last = cut
                    break
        piece_end = spans[last][0] if last < len(spans) else end - start
        pieces.append((start + spans[first][0], start + piece_end, last - first))
        first = last
    return pieces


def _pack(text: str, counter: TokenCounter, target: int, overlap: int) -> list[tuple[int, int]]:
    units = _units(text, counter, target)
    windows: list[tuple[int, int]] = []
    current: list[_Unit] = []
    size = 0
    for index, unit in enumerate(units):
        paragraph_left = _paragraph_tokens(units, index) if unit.new_paragraph else 0
        full = size + unit.tokens > target
        # Close early at a paragraph break when the chunk is half full and the paragraph won't fit.
        early = unit.new_paragraph and size >= target // 2 and size + paragraph_left > target
        if current and (full or early):
            windows.append((current[0].start, current[-1].end))
            carried: list[_Unit] = []
            for previous in reversed(current):
                if sum(u.tokens for u in carried) + previous.tokens > overlap:
                    break
                carried.insert(0, previous)
            if not carried and current[-1].tokens <= overlap * 3 // 2:
                carried = [current[-1]]  # one long sentence still beats no overlap at all
            carried_tokens = sum(u.tokens for u in carried)
            if len(carried) == len(current) or carried_tokens + unit.tokens > target:
                carried = []
            current, size = carried, sum(u.tokens for u in carried)
        current.append(unit)
        size += unit.tokens
    if current:
        windows.append((current[0].start, current[-1].end))
    return windows


def _paragraph_tokens(units: list[_Unit], index: int) -> int:
    total = units[index].tokens
    for unit in units[index + 1:]:
        if unit.new_paragraph:
            break
        total += unit.tokens
    return total


def _enforce_limit(chunks: list[Chunk], counter: TokenCounter) -> list[Chunk]:
    """Re-measure each chunk as a whole (joins can tokenize differently) and halve any too long."""
    counts = counter.count_tokens([c.text for c in chunks])
    result: list[Chunk] = []
    for chunk, tokens in zip(chunks, counts, strict=True):
        if tokens <= counter.max_tokens:
            result.append(chunk)
            continue
        spans = counter.token_spans(chunk.text)
        cut = spans[len(spans) // 2][0]
        halves = [
            Chunk(0, chunk.text[:cut].strip(), chunk.heading, chunk.page, chunk.start,
                  chunk.start + cut),
            Chunk(0, chunk.text[cut:].strip(), chunk.heading, chunk.page, chunk.start + cut,
                  chunk.end),
        ]
        result.extend(_enforce_limit([h for h in halves if h.text], counter))
    for ordinal, chunk in enumerate(result):
        chunk.ordinal = ordinal
    return result
