"""Per-folder counts and problems, read from the documents table."""

from __future__ import annotations

from pathlib import Path

from assistant.knowledge.indexer import _doc_row
from assistant.knowledge.overview import folder_overviews
from assistant.store import DOCUMENTS


def test_counts_and_problems_per_watched_folder(store, tmp_path):
    notes, other = tmp_path / "notes", tmp_path / "other"
    rows = [_doc_row(str(notes / "a.md"), notes, None, "h", "indexed", "", 2),
            _doc_row(str(notes / "b.pdf"), notes, None, "", "failed", "not a readable PDF", 0),
            _doc_row(str(notes / "c.bin"), notes, None, "", "skipped", "unsupported", 0),
            _doc_row(str(other / "d.md"), other, None, "h", "indexed", "", 1)]
    store.upsert(DOCUMENTS.name, rows)
    (overview,) = folder_overviews(store, [str(notes)])
    assert (overview.indexed, overview.skipped, overview.failed) == (1, 1, 1)
    assert [Path(p).name for p, _, _ in overview.problems] == ["b.pdf", "c.bin"]
    assert overview.problems[0][2] == "not a readable PDF"
