"""Chunks fit the embedder (nothing past 256 word pieces is ever lost) and keep their places."""

from __future__ import annotations

import random

from assistant.knowledge.chunking import chunk_document, full_text
from assistant.knowledge.parsers import ParsedDocument

WORDS = "printer network install error backup antidisestablishmentarianism tomato".split()
PLAIN = "the printer on the network needs a driver before the backup can run".split()


def _prose(rng: random.Random, sentences: int, words: list[str] = WORDS) -> str:
    return " ".join(" ".join(rng.choices(words, k=rng.randint(5, 30))).capitalize() + "."
                    for _ in range(sentences))


def test_no_chunk_is_truncated_by_the_model(embedder):
    rng = random.Random(1)
    doc = ParsedDocument()
    doc.add("\n\n".join(_prose(rng, 6) for _ in range(12)), "Prose")
    doc.add(" ".join(rng.choices(WORDS, k=2000)), "No punctuation at all")
    doc.add("x" * 5000 + " " + "ab1" * 2000, "Monster words")
    doc.add("\n".join(f"value_{i} = {i * 17}" for i in range(600)), "Config lines")
    chunks = chunk_document(doc, embedder)
    counts = embedder.count_tokens([c.text for c in chunks])
    assert max(counts) <= embedder.max_tokens == 254
    text = full_text(doc)
    assert all(text[c.start:c.end] == c.text for c in chunks)
    # Every word of the document is inside some chunk: nothing was dropped.
    covered = " ".join(c.text for c in chunks)
    for section in doc.sections:
        for word in set(section.text.split()):
            assert word in covered


def test_offsets_headings_pages_and_overlap(embedder):
    rng = random.Random(2)
    doc = ParsedDocument()
    doc.add(_prose(rng, 40, PLAIN), "Chapter 1", page=1)
    doc.add(_prose(rng, 3, PLAIN), "Chapter 2", page=2)
    chunks = chunk_document(doc, embedder)
    text = full_text(doc)
    assert all(text[c.start:c.end] == c.text for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    first = [c for c in chunks if c.heading == "Chapter 1"]
    assert len(first) >= 3 and {c.page for c in first} == {1}
    assert chunks[-1].heading == "Chapter 2" and chunks[-1].page == 2
    # Consecutive chunks of one section share a sentence or so of overlap.
    assert all(a.end > b.start for a, b in zip(first, first[1:], strict=False))
    assert all(b.end > a.end for a, b in zip(first, first[1:], strict=False))
