"""Word documents (.docx) through python-docx's XML layer, cut at their heading styles.

Opening a file with ``docx.Document`` unmarshals every part of the package (styles, numbering,
theme, fonts, settings) and costs about 10 ms; text needs only the main document, plus the
styles part when a paragraph style's id does not already say what it is (``Heading2``).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable

from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl, CT_Tc
from docx.oxml.text.paragraph import CT_P
from lxml import etree

from assistant.errors import DocumentError
from assistant.knowledge.parsers.base import HeadingTrail, ParsedDocument, ReadBudget

_HEADING_NAME = re.compile(r"^heading (\d)$", re.IGNORECASE)
_HEADING_ID = re.compile(r"^Heading(\d)$")  # the ids English Word, LibreOffice and python-docx use
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_OFFICE_DOCUMENT = "/officeDocument"
_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError, AttributeError)


def parse_docx(data: bytes, budget: ReadBudget | None = None) -> ParsedDocument:
    """Paragraphs and tables in reading order; ``Title`` and ``Heading N`` styles make the trail."""
    budget = budget or ReadBudget()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            main = _main_part(package)
            # A zip's sizes are what it says; a small file may unpack to gigabytes.
            budget.check_size(package.getinfo(main).file_size, "its text")
            body = parse_xml(package.read(main)).body
            return _read_body(body, _style_levels(package, main, budget), budget)
    except _ERRORS as exc:
        raise DocumentError(f"not a readable Word document ({exc})") from exc


def _read_body(body: etree._Element, level_of: Callable[[str], int],
               budget: ReadBudget) -> ParsedDocument:
    doc, trail = ParsedDocument(), HeadingTrail()
    lines: list[str] = []
    for block in body.iterchildren():
        budget.check()
        if isinstance(block, CT_Tbl):
            lines.extend(" | ".join(_cell_text(tc) for tc in tr.tc_lst) for tr in block.tr_lst)
            continue
        if not isinstance(block, CT_P):
            continue
        level = level_of(block.style) if block.style else 0
        text = block.text
        if level and text.strip():
            doc.add("\n".join(lines), str(trail))
            lines = []
            trail.enter(level, text)
        else:
            lines.append(text)
    doc.add("\n".join(lines), str(trail))
    return doc


def _main_part(package: zipfile.ZipFile) -> str:
    """The main document part named by the package relationships (usually word/document.xml)."""
    rels = etree.fromstring(package.read("_rels/.rels"))
    for rel in rels.iter(_REL):
        if rel.get("Type", "").endswith(_OFFICE_DOCUMENT):
            return rel.get("Target", "").lstrip("/")
    raise KeyError("the package names no main document")


def _style_levels(package: zipfile.ZipFile, main: str,
                  budget: ReadBudget) -> Callable[[str], int]:
    """A style id's heading level (0: not a heading), reading the styles part only if needed."""
    part = posixpath.join(posixpath.dirname(main), "styles.xml")
    cache: dict[str, int] = {}
    names: dict[str, str] = {}

    def level_of(style_id: str) -> int:
        if style_id not in cache:
            by_id = _HEADING_ID.match(style_id)
            if by_id or style_id == "Title":
                cache[style_id] = int(by_id.group(1)) + 1 if by_id else 1
            else:
                if not names and part in package.namelist():
                    budget.check_size(package.getinfo(part).file_size, "its styles")
                    names.update(_style_names(package.read(part)))
                cache[style_id] = _level_for_name(names.get(style_id, ""))
        return cache[style_id]

    return level_of


def _style_names(xml: bytes) -> dict[str, str]:
    root = etree.fromstring(xml)
    found = {}
    for style in root.iter(qn("w:style")):
        name = style.find(qn("w:name"))
        if name is not None:
            found[style.get(qn("w:styleId"), "")] = name.get(qn("w:val"), "")
    return found


def _level_for_name(name: str) -> int:
    if name.lower() == "title":
        return 1
    match = _HEADING_NAME.match(name)
    return int(match.group(1)) + 1 if match else 0


def _cell_text(cell: CT_Tc) -> str:
    return " ".join(p.text.strip() for p in cell.p_lst if p.text.strip())
