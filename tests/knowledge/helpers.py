"""Helpers for knowledge tests: real documents written by real libraries, and store checks."""

from __future__ import annotations

import io

from assistant.store import CHUNKS, DOCUMENTS, Store


def make_pdf(pages: list[str]) -> bytes:
    """A real multi-page PDF written with fpdf2, one text per page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def make_docx(blocks: list[tuple[str, str]]) -> bytes:
    """A .docx from (kind, text) pairs: kind is 'title', 'h1', 'h2' or 'p'."""
    import docx

    document = docx.Document()
    for kind, text in blocks:
        if kind == "title":
            document.add_heading(text, level=0)
        elif kind.startswith("h"):
            document.add_heading(text, level=int(kind[1]))
        else:
            document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def assert_consistent(store: Store) -> None:
    """No duplicate chunks, no orphans, and every indexed document has exactly its chunks."""
    chunks = store.rows(CHUNKS.name, columns=["id", "path", "ordinal"])
    ids = [c["id"] for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunk rows"
    docs = {d["path"]: d for d in store.rows(DOCUMENTS.name)}
    assert len(docs) == store.count(DOCUMENTS.name), "duplicate document rows"
    by_path: dict[str, list[int]] = {}
    for chunk in chunks:
        by_path.setdefault(chunk["path"], []).append(chunk["ordinal"])
    for path, ordinals in by_path.items():
        assert path in docs and docs[path]["status"] == "indexed", f"orphan chunks of {path}"
        assert sorted(ordinals) == list(range(docs[path]["chunks"])), f"wrong chunks for {path}"
    for path, doc in docs.items():
        if doc["status"] == "indexed":
            assert path in by_path, f"{path} is indexed but has no chunks"
