"""PDF text with page numbers, through pypdfium2 (fast, permissively licensed)."""

from __future__ import annotations

import pypdfium2 as pdfium

from assistant.errors import DocumentError
from assistant.knowledge.parsers.base import ParsedDocument, ReadBudget


def parse_pdf(data: bytes, budget: ReadBudget | None = None) -> ParsedDocument:
    """One section per page, numbered from 1, so citations can name the page."""
    budget = budget or ReadBudget()
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError("encrypted PDF: it needs a password to open") from exc
        raise DocumentError(f"not a readable PDF ({exc})") from exc
    doc = ParsedDocument()
    try:
        for number in range(len(pdf)):
            budget.check()
            page = pdf[number]
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_range()
            finally:
                textpage.close()
                page.close()
            doc.add(text.replace("\r\n", "\n").replace("\r", "\n"), page=number + 1)
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"a page of this PDF cannot be read ({exc})") from exc
    finally:
        pdf.close()
    return doc
