"""Where each token of a text lies in it, from the tokens' own text (llama.cpp has no offsets).

A WordPiece model lower-cases the text, strips its accents and drops the spaces; a byte-level
BPE model may split one character over two tokens; an unknown word becomes a token with no text.
So each piece is looked for in a folded copy of the text (lower case, no accents) from where the
last one ended, a little further on when it is not there at once; a piece that cannot be placed
takes one character. The spans only guide where chunks are cut (chunking measures the result
again), and they always move forward, as the chunker expects.
"""

from __future__ import annotations

import codecs
import unicodedata

LOOKAHEAD = 48  # characters searched past the expected place (an unknown word, a dropped char)


def piece_spans(text: str, pieces: list[bytes]) -> list[tuple[int, int]]:
    """Character span in ``text`` of each token whose UTF-8 text is in ``pieces``."""
    folded, origin = _fold_text(text)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
    spans: list[tuple[int, int]] = []
    cursor = 0
    for raw in pieces:
        piece = fold(decoder.decode(raw).replace("\u2581", " ")).strip()
        while cursor < len(folded) and folded[cursor].isspace():
            cursor += 1
        if not piece:  # a special token, an unknown word, half of a character
            spans.append(_span(origin, cursor, cursor, len(text)))
            continue
        if folded.startswith(piece, cursor):
            start, end = cursor, cursor + len(piece)
        else:
            found = folded.find(piece, cursor, cursor + len(piece) + LOOKAHEAD)
            if found >= 0:
                start, end = found, found + len(piece)
            else:  # a piece whose text is not in the text as such: one character
                start, end = cursor, min(len(folded), cursor + 1)
        spans.append(_span(origin, start, end, len(text)))
        cursor = end
    return spans


def fold(text: str) -> str:
    """Lower case without accents, as a WordPiece tokenizer normalizes text."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fold_text(text: str) -> tuple[str, list[int] | None]:
    """``text`` folded, and the index in ``text`` of each folded character (None: the same
    index, for ASCII text, where folding keeps every character in place)."""
    if text.isascii():
        return text.lower(), None
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in fold(char):
            folded.append(piece)
            origin.append(index)
    return "".join(folded), origin


def _span(origin: list[int] | None, start: int, end: int, length: int) -> tuple[int, int]:
    """The span in the original text of folded characters ``start`` to ``end``."""
    if origin is None:
        return min(start, length), min(end, length)
    first = origin[start] if start < len(origin) else length
    last = origin[end - 1] + 1 if start < end <= len(origin) else first
    return first, last
