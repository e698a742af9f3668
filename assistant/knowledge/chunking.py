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
LEAD_WORDS = 24  # a title line and a one-sentence summary, ~10% of a chunk's word pieces
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
    exact: bool = True  # False when cut inside a word: its count alone may then differ


def chunk_document(doc: ParsedDocument, counter: TokenCounter,
                   target: int = TARGET_TOKENS, overlap: int = OVERLAP_TOKENS) -> list[Chunk]:
    """Chunks of at most ``counter.max_tokens`` word pieces, never crossing a heading or page."""
    target = min(target, counter.max_tokens)
    chunks: list[Chunk] = []
    inexact: set[int] = set()
    offset = 0
    for section in doc.sections:
        for start, end, exact in _pack(section.text, counter, target, overlap):
            text = section.text[start:end].strip()
            if text:
                lead = len(section.text[start:end]) - len(section.text[start:end].lstrip())
                if not exact:
                    inexact.add(len(chunks))
                chunks.append(Chunk(len(chunks), text, section.heading, section.page,
                                    offset + start + lead, offset + start + lead + len(text)))
        offset += len(section.text) + len(SEPARATOR)
    return _enforce_limit(chunks, inexact, counter)


def embedding_text(chunk: Chunk, lead: str = "") -> str:
    """What is embedded for a chunk: its heading trail, what its document is about, its text.

    A passage from a reference page ("Specifies that the file contains a header line") rarely
    names what it is about; its trail ("COPY > Parameters") and its page's opening words
    ("COPY — copy data between a file and a table") do. The stored text stays the passage.
    """
    flat = " ".join(chunk.text.split())
    context = [part for part in (chunk.heading, lead) if part and part not in flat]
    return "\n".join([*context, chunk.text])


def document_lead(first: Chunk) -> str:
    """A document's opening words (from its first chunk): a summary most documents begin with."""
    words = first.text.split()
    return " ".join(words[:LEAD_WORDS])


def full_text(doc: ParsedDocument) -> str:
    """The document's text as chunk offsets see it."""
    return SEPARATOR.join(section.text for section in doc.sections)


def _units(text: str, counter: TokenCounter, target: int) -> list[_Unit]:
    """Sentences (or lines) with their word-piece counts, from one tokenization of the section.

    Units begin and end at whitespace or punctuation, where BERT's pre-tokenizer splits anyway,
    so counting the section's tokens inside a unit's span equals tokenizing the unit alone.
    """
    breaks = [m.end() for m in _PARAGRAPH_BREAK.finditer(text)]
    starts = [a for a, _ in counter.token_spans(text)]
    units: list[_Unit] = []
    for match in _UNIT.finditer(text):
        start, end = match.span()
        if not text[start:end].strip():
            continue
        first, last = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
        last_break = bisect.bisect_right(breaks, start) - 1
        fresh = start == 0 or (last_break >= 0 and not text[breaks[last_break]:start].strip())
        if last - first <= target:
            units.append(_Unit(start, end, last - first, fresh))
            continue
        # A sentence longer than a chunk: cut it at word-piece boundaries, preferring spaces.
        # The piece after a mid-word cut is inexact too: it starts inside that word.
        after_cut_inside_word = False
        for piece_start, piece_end, tokens, whole in _split_long(text, starts, first, last, end,
                                                                 target):
            exact = whole and not after_cut_inside_word
            units.append(_Unit(piece_start, piece_end, tokens, fresh, exact))
            fresh, after_cut_inside_word = False, not whole
    return units


def _split_long(text: str, starts: list[int], first: int, last: int, end: int,
                target: int) -> list[tuple[int, int, int, bool]]:
    pieces: list[tuple[int, int, int, bool]] = []
    while first < last:
        cut = min(first + target, last)
        if cut < last:
            # Back up to a token that starts after whitespace, so words stay whole when possible.
            for candidate in range(cut, first + target // 2, -1):
                if starts[candidate] > 0 and text[starts[candidate] - 1].isspace():
                    cut = candidate
                    break
        whole = cut >= last or text[starts[cut] - 1].isspace()
        pieces.append((starts[first], starts[cut] if cut < last else end, cut - first, whole))
        first = cut
    return pieces


def _pack(text: str, counter: TokenCounter, target: int,
          overlap: int) -> list[tuple[int, int, bool]]:
    units = _units(text, counter, target)
    windows: list[tuple[int, int, bool]] = []
    current: list[_Unit] = []
    size = 0
    for index, unit in enumerate(units):
        paragraph_left = _paragraph_tokens(units, index) if unit.new_paragraph else 0
        full = size + unit.tokens > target
        # Close early at a paragraph break when the chunk is half full and the paragraph won't fit.
        early = unit.new_paragraph and size >= target // 2 and size + paragraph_left > target
        if current and (full or early):
            windows.append((current[0].start, current[-1].end, all(u.exact for u in current)))
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
        windows.append((current[0].start, current[-1].end, all(u.exact for u in current)))
    return windows


def _paragraph_tokens(units: list[_Unit], index: int) -> int:
    total = units[index].tokens
    for unit in units[index + 1:]:
        if unit.new_paragraph:
            break
        total += unit.tokens
    return total


def _enforce_limit(chunks: list[Chunk], inexact: set[int] | None,
                   counter: TokenCounter) -> list[Chunk]:
    """Re-measure chunks whose count may be off (``None``: all) and halve any that is too long."""
    measure = [c for i, c in enumerate(chunks) if inexact is None or i in inexact]
    too_long = {id(c) for c, n in zip(measure, counter.count_tokens([c.text for c in measure]),
                                      strict=True) if n > counter.max_tokens}
    result: list[Chunk] = []
    for chunk in chunks:
        if id(chunk) not in too_long:
            result.append(chunk)
            continue
        spans = counter.token_spans(chunk.text)
        cut = spans[len(spans) // 2][0]
        halves = [_part(chunk, 0, cut), _part(chunk, cut, len(chunk.text))]
        result.extend(_enforce_limit([h for h in halves if h.text], None, counter))
    for ordinal, chunk in enumerate(result):
        chunk.ordinal = ordinal
    return result


def _part(chunk: Chunk, begin: int, end: int) -> Chunk:
    """The stripped text of ``chunk.text[begin:end]``, with offsets that still point at it."""
    piece = chunk.text[begin:end]
    lead = len(piece) - len(piece.lstrip())
    text = piece.strip()
    start = chunk.start + begin + lead
    return Chunk(0, text, chunk.heading, chunk.page, start, start + len(text))
