"""Chunk a document a block at a time, so a 50 MB text never sits in memory as tokens at once.

:func:`chunk_document` tokenizes a whole section in one go (offsets for every word piece): fine
for pages, ruinous for a 50 MB log with no headings (gigabytes of offsets). Here long sections
are cut into blocks of about :data:`BLOCK_CHARS` at paragraph (else line, else word) breaks and
chunked one block at a time; ordinals and offsets come out exactly as for the whole document.
"""

from __future__ import annotations

from collections.abc import Iterator

from assistant.knowledge.chunking import SEPARATOR, Chunk, TokenCounter, chunk_document
from assistant.knowledge.parsers import ParsedDocument, Section

BLOCK_CHARS = 200_000  # about 50,000 word pieces: a few MB of offsets while chunking
_BREAKS = ("\n\n", "\n", ". ", " ")


def stream_chunks(doc: ParsedDocument, counter: TokenCounter) -> Iterator[Chunk]:
    """The chunks of ``doc`` in order, produced block by block (offsets in its full text)."""
    ordinal = 0
    offset = 0
    for section in doc.sections:
        for begin, end in blocks(section.text, BLOCK_CHARS):
            part = ParsedDocument([Section(section.text[begin:end], section.heading,
                                           section.page)])
            for chunk in chunk_document(part, counter):
                chunk.ordinal = ordinal
                chunk.start += offset + begin
                chunk.end += offset + begin
                ordinal += 1
                yield chunk
        offset += len(section.text) + len(SEPARATOR)


def blocks(text: str, size: int = BLOCK_CHARS) -> Iterator[tuple[int, int]]:
    """Consecutive ``(begin, end)`` spans covering ``text``, each at most ``size`` characters,
    cut after the last paragraph, line, sentence or word break in the second half of a span."""
    begin = 0
    while len(text) - begin > size:
        end = begin + size
        for mark in _BREAKS:
            cut = text.rfind(mark, begin + size // 2, end)
            if cut >= 0:
                end = cut + len(mark)
                break
        yield begin, end
        begin = end
    if begin < len(text):
        yield begin, len(text)
