"""Large inputs stream: a long document is chunked a block at a time and stored in batches with
progress; a large memory import embeds in batches and writes each table once.

The full-size figures (a 50 MB file, 10,000 memories) come from
``tests/reliability/measure_large_inputs.py``; these tests check the same paths small.
"""

from __future__ import annotations

import pytest

from assistant.knowledge import indexer as indexer_module
from assistant.knowledge import streaming
from assistant.knowledge.chunking import full_text
from assistant.knowledge.indexer import Indexer
from assistant.knowledge.parsers import ParsedDocument, Section
from assistant.memory.book import MemoryBook
from assistant.memory.tables import MEMORIES, MEMORY_EVENTS
from assistant.store import CHUNKS, DOCUMENTS


class _Killed(BaseException):
    """Stands for the process being killed: nothing in the indexer catches it."""


SENTENCE = "The keeper trimmed the lamp and wrote the weather in the ledger. "


def test_blocks_cover_the_text_exactly_and_cut_at_breaks():
    text = ("word " * 30 + "\n\n") * 200 + "tail"
    spans = list(streaming.blocks(text, size=1000))
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert all(end - begin <= 1000 for begin, end in spans)
    assert all(text[end - 2:end] == "\n\n" for _, end in spans[:-1])


def test_streamed_chunks_point_at_their_text(embedder, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_CHARS", 2_000)
    doc = ParsedDocument([Section(SENTENCE * 200, "Log"), Section("Short second section.")])
    chunks = list(streaming.stream_chunks(doc, embedder))
    text = full_text(doc)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert all(text[c.start:c.end] == c.text for c in chunks)
    assert max(embedder.count_tokens([c.text for c in chunks])) <= embedder.max_tokens
    assert chunks[-1].text == "Short second section."


def test_a_long_document_is_stored_in_batches_with_progress(store, embedder, tmp_path,
                                                            monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_CHARS", 3_000)
    monkeypatch.setattr(indexer_module, "BATCH_CHUNKS", 8)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.txt").write_text((SENTENCE * 8 + "\n\n") * 60)
    (docs / "small.txt").write_text("A small note.")
    reports = []
    report = Indexer(store, embedder).sync(docs, progress=reports.append)
    chunks = store.count(CHUNKS.name, f"path = '{docs / 'long.txt'}'")
    assert chunks > 3 * 8
    mid_file = [p for p in reports if p.files_done < p.files_total and p.chunks_done > 0]
    assert len(mid_file) >= 2, "progress must move while one large file is stored"
    rows = {r["path"]: r for r in store.rows(DOCUMENTS.name)}
    assert rows[str(docs / "long.txt")]["chunks"] == chunks
    assert report.chunks == chunks + 1
    ordinals = sorted(r["ordinal"] for r in store.rows(
        CHUNKS.name, where=f"path = '{docs / 'long.txt'}'", columns=["ordinal"]))
    assert ordinals == list(range(chunks))
    again = Indexer(store, embedder).sync(docs)
    assert (again.unchanged, again.changed) == (2, False)


def test_a_run_stopped_inside_a_large_file_converges(store, embedder, tmp_path, monkeypatch):
    monkeypatch.setattr(indexer_module, "BATCH_CHUNKS", 4)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.txt").write_text((SENTENCE * 6 + "\n\n") * 40)
    indexer = Indexer(store, embedder)
    flushes = []
    real_flush = indexer._flush

    def dying_flush(pending, report):
        flushes.append(1)
        if len(flushes) == 3:
            raise _Killed  # the process dies between two batches of one file
        return real_flush(pending, report)

    monkeypatch.setattr(indexer, "_flush", dying_flush)
    with pytest.raises(_Killed):
        indexer.sync(docs)
    assert store.count(CHUNKS.name) == 8 and store.count(DOCUMENTS.name) == 0
    monkeypatch.undo()
    report = Indexer(store, embedder).sync(docs)
    stored = store.count(CHUNKS.name)
    assert report.added == 1 and store.rows(DOCUMENTS.name)[0]["chunks"] == stored
    assert len({r["id"] for r in store.rows(CHUNKS.name, columns=["id"])}) == stored


def test_a_large_import_embeds_in_batches_and_writes_each_table_once(store, embedder,
                                                                     monkeypatch):
    monkeypatch.setattr("assistant.memory.book.IMPORT_BATCH", 100)
    data = {"format": "loremind-memories", "memories": [
        {"id": f"m{i}", "text": f"Fact number {i} about the lighthouse"} for i in range(450)]}
    versions_before = {name: len(store.table(name).list_versions())
                       for name in (MEMORIES.name, MEMORY_EVENTS.name)}
    progress: list[tuple[int, int]] = []
    assert MemoryBook(store, embedder).import_(data, lambda d, t: progress.append((d, t))) == (
        450, 0)
    assert progress == [(100, 450), (200, 450), (300, 450), (400, 450), (450, 450)]
    for name, before in versions_before.items():
        # one write, its index update and one compaction: not one version per memory
        assert len(store.table(name).list_versions()) - before <= 5
    assert store.count(MEMORIES.name) == 450 and store.count(MEMORY_EVENTS.name) == 450
