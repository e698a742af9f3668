"""Indexing progress in words: never "0 chunks · 0/s" while the first batch is embedded."""

from __future__ import annotations

from assistant.knowledge.indexer import Progress
from assistant.knowledge.progress_text import indexing_text


def test_progress_says_what_is_happening():
    assert indexing_text("Notes", Progress(0, 128, 0, 0.0)) == \
        "Indexing Notes: looking for changes…"
    reading = indexing_text("Notes", Progress(116, 128, 0, 0.0))
    assert reading == "Indexing Notes: 116/128 files read · embedding their passages…"
    assert indexing_text("Notes", Progress(128, 128, 2048, 35.2)) == \
        "Indexing Notes: 128/128 files · 2,048 passages · 35/\u2060s"
