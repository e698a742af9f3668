"""Word documents (.docx) through python-docx, cut at their heading styles."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table

from assistant.errors import DocumentError
from assistant.knowledge.parsers.base import HeadingTrail, ParsedDocument

_HEADING_STYLE = re.compile(r"^Heading (\d)$")


def parse_docx(data: bytes) -> ParsedDocument:
    """Paragraphs and tables in reading order; ``Title`` and ``Heading N`` styles make the trail."""
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"not a readable Word document ({exc})") from exc
    doc, trail, body = ParsedDocument(), HeadingTrail(), []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            body.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows)
            continue
        style = block.style.name if block.style is not None else ""
        level = 1 if style == "Title" else _heading_level(style)
        if level and block.text.strip():
            doc.add("\n".join(body), str(trail))
            body = []
            trail.enter(level, block.text)
        else:
            body.append(block.text)
    doc.add("\n".join(body), str(trail))
    return doc


def _heading_level(style: str) -> int:
    match = _HEADING_STYLE.match(style)
    return int(match.group(1)) + 1 if match else 0
