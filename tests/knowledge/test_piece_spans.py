"""Placing llama.cpp's tokens in the text they came from, for the three kinds of vocabulary."""

from __future__ import annotations

from assistant.knowledge.piece_spans import piece_spans


def texts(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_word_pieces_of_a_lower_cased_accent_stripped_vocabulary():
    text = "Café  naïve DONNÉES"
    pieces = [b"\xe2\x96\x81cafe", b"\xe2\x96\x81naive", b"\xe2\x96\x81don", b"nees"]
    assert texts(text, piece_spans(text, pieces)) == ["Café", "naïve", "DON", "NÉES"]


def test_byte_level_pieces_that_split_a_character():
    text = "a é b"
    pieces = [b"a", b" \xc3", b"\xa9", b" b"]  # "é" is two bytes, in two tokens
    spans = piece_spans(text, pieces)
    assert texts(text, spans) == ["a", "", "é", "b"]
    assert [a for a, _ in spans] == sorted(a for a, _ in spans)


def test_an_unknown_word_is_stepped_over_and_the_next_piece_found():
    text = "hello ☃☃☃ world"
    spans = piece_spans(text, [b"hello", b"", b"world"])  # [UNK] has no text
    assert texts(text, spans) == ["hello", "", "world"]
    assert spans[1] == (6, 6)


def test_special_pieces_and_an_empty_text():
    assert piece_spans("", []) == []
    spans = piece_spans("hi", [b"", b"hi", b""])
    assert spans == [(0, 0), (0, 2), (2, 2)]
