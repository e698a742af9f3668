"""Incremental sync: only what changed is embedded; bad documents are recorded, never fatal."""

from __future__ import annotations

import errno
import os
import shutil

import pytest

from assistant.config import KnowledgeSettings
from assistant.knowledge import EmbedderChangedError, Indexer
from assistant.store import CHUNKS, DOCUMENTS
from tests.knowledge.helpers import assert_consistent, make_docx, make_pdf


def _status(store) -> dict[str, tuple[str, str]]:
    return {os.path.basename(r["path"]): (r["status"], r["reason"])
            for r in store.rows(DOCUMENTS.name)}


def test_add_modify_delete_rename_embed_only_what_changed(indexer, store, embedder, docs):
    (docs / "a.md").write_text("# Alpha\n\nAlpha talks about rivers and boats.")
    (docs / "b.txt").write_text("Bravo is about mountains and snow.")
    (docs / "sub").mkdir()
    (docs / "sub" / "c.txt").write_text("Charlie covers deserts and camels.")
    progress = []
    report = indexer.sync(docs, progress.append)
    assert (report.added, report.chunks) == (3, 3)
    assert progress[-1].files_done == progress[-1].files_total == 3
    assert_consistent(store)

    calls = embedder.calls
    assert indexer.sync(docs).unchanged == 3 and embedder.calls == calls

    os.utime(docs / "b.txt", ns=(1, 1))  # touched, same content: hashed, not embedded
    report = indexer.sync(docs)
    assert report.unchanged == 3 and embedder.calls == calls

    (docs / "a.md").write_text("# Alpha\n\nAlpha now talks about lakes.")
    report = indexer.sync(docs)
    assert report.updated == 1 and embedder.calls == calls + 1

    os.rename(docs / "sub" / "c.txt", docs / "c-moved.txt")
    shutil.move(docs / "b.txt", docs / "sub" / "b-renamed.txt")
    report = indexer.sync(docs)
    assert (report.renamed, report.added, report.removed) == (2, 0, 0)
    assert embedder.calls == calls + 1, "a renamed file must not be re-embedded"

    (docs / "c-moved.txt").unlink()
    report = indexer.sync(docs)
    assert report.removed == 1
    assert sorted(_status(store)) == ["a.md", "b-renamed.txt"]
    texts = [r["text"] for r in store.rows(CHUNKS.name, columns=["text"])]
    assert sorted(texts) == ["Alpha now talks about lakes.", "Bravo is about mountains and snow."]
    assert_consistent(store)


def test_bad_documents_get_a_status_and_a_reason(store, embedder, docs, monkeypatch):
    from fpdf import FPDF

    secret = FPDF()
    secret.add_page()
    secret.set_font("helvetica", size=12)
    secret.cell(text="classified")
    secret.set_encryption(owner_password="o", user_password="u")
    (docs / "encrypted.pdf").write_bytes(bytes(secret.output()))
    (docs / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj garbage")
    (docs / "corrupt.docx").write_bytes(b"not a zip at all")
    (docs / "binary.txt").write_bytes(os.urandom(64) + b"\x00" * 64)
    (docs / "huge.md").write_text("big " * 300_000)  # ~1.2 MB, over the 1 MB limit below
    (docs / "unreadable.txt").write_text("you cannot read me")
    (docs / "empty.txt").write_text("   \n")
    (docs / "self-loop.md").symlink_to(docs / "self-loop.md")
    (docs / "nested").mkdir()
    (docs / "nested" / "back-up").symlink_to(docs)
    (docs / "good.pdf").write_bytes(make_pdf(["Page one text.", "Page two text."]))
    (docs / "good.docx").write_bytes(make_docx([("h1", "Intro"), ("p", "Word text.")]))

    real_open = os.open

    def failing_open(path, *args, **kwargs):
        # Tests run as root, where chmod 000 still reads: simulate a permission error instead.
        if str(path).endswith("unreadable.txt"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("os.open", failing_open)
    indexer = Indexer(store, embedder, KnowledgeSettings(max_file_mb=1))
    report = indexer.sync(docs)
    status = _status(store)
    assert status["encrypted.pdf"] == ("failed", "encrypted PDF: it needs a password to open")
    assert status["corrupt.pdf"][0] == "failed" and "PDF" in status["corrupt.pdf"][1]
    assert status["corrupt.docx"][0] == "failed" and "Word" in status["corrupt.docx"][1]
    assert status["binary.txt"] == ("skipped", "binary content behind a text extension")
    assert status["huge.md"][0] == "skipped" and "1 MB limit" in status["huge.md"][1]
    assert status["unreadable.txt"] == ("failed", "cannot read: Permission denied")
    assert status["empty.txt"][0] == "skipped" and "no text" in status["empty.txt"][1]
    assert status["self-loop.md"] == ("skipped", "symlink loop: the link points to itself")
    assert status["back-up"][0] == "skipped" and "symlink loop" in status["back-up"][1]
    assert status["good.pdf"] == status["good.docx"] == ("indexed", "")
    assert report.added == 2 and report.failed == 4 and report.skipped == 5
    pages = {r["page"] for r in store.rows(CHUNKS.name, where="ext = '.pdf'")}
    assert pages == {1, 2}
    assert_consistent(store)
    # Nothing changed: a second run neither rewrites the problems nor re-embeds.
    calls = embedder.calls
    again = indexer.sync(docs)
    assert not again.changed and embedder.calls == calls


def test_hidden_temporary_and_ignored_files_are_left_out(store, embedder, docs):
    for name in ("keep.md", ".hidden.md", "draft.md.tmp", "~$lock.docx", "notes.md~"):
        (docs / name).write_text("some text")
    (docs / ".git").mkdir()
    (docs / ".git" / "config.txt").write_text("some text")
    (docs / "build").mkdir()
    (docs / "build" / "out.txt").write_text("some text")
    (docs / "secret.txt").write_text("some text")
    indexer = Indexer(store, embedder, KnowledgeSettings(ignore=["build/", "secret.*"]))
    indexer.sync(docs)
    assert sorted(_status(store)) == ["keep.md"]


def test_a_changed_embedder_requires_an_explicit_reindex(indexer, store, embedder, docs):
    (docs / "a.txt").write_text("Something to index.")
    indexer.sync(docs)
    store.set_meta("embedder", "some-other-model")
    with pytest.raises(EmbedderChangedError, match="loremind index --reindex"):
        indexer.sync(docs)
    calls = embedder.calls
    reports = indexer.reindex()
    assert [r.updated for r in reports] == [1] and embedder.calls == calls + 1
    assert store.get_meta("embedder") == embedder.name
    assert_consistent(store)
    assert indexer.sync(docs).unchanged == 1


def test_a_move_reported_only_as_a_deletion_is_still_a_rename(indexer, store, embedder, docs):
    (docs / "a.txt").write_text("Notes about the harbour and its ships.")
    indexer.sync(docs)
    calls = embedder.calls
    (docs / "new-folder").mkdir()
    os.rename(docs / "a.txt", docs / "new-folder" / "a.txt")
    # The watcher saw only the deletion (the target folder was not watched yet).
    report = indexer.sync(docs, only=[docs / "a.txt"])
    assert report.renamed == 1 and embedder.calls == calls
    assert sorted(_status(store)) == ["a.txt"]
    assert store.rows(DOCUMENTS.name)[0]["path"] == str(docs / "new-folder" / "a.txt")
