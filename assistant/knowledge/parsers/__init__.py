"""Parsers by file extension: each turns a file's bytes into ordered, headed sections."""

from __future__ import annotations

from collections.abc import Callable

from assistant.knowledge.parsers.base import ParsedDocument, Section, Skipped, decode_text
from assistant.knowledge.parsers.html import parse_html
from assistant.knowledge.parsers.office import parse_docx
from assistant.knowledge.parsers.pdf import parse_pdf
from assistant.knowledge.parsers.text import parse_markdown, parse_plain, parse_rst

Parser = Callable[[bytes], ParsedDocument | Skipped]

CODE_AND_CONFIG = (
    ".py .pyi .js .jsx .ts .tsx .java .kt .c .h .cc .cpp .hpp .cs .go .rs .rb .php .swift .scala "
    ".sh .bash .zsh .ps1 .sql .r .lua .pl .m .json .yaml .yml .toml .ini .cfg .conf .xml .csv "
    ".tsv .properties .gradle .cmake .mk .dockerfile .tex .org .adoc .log"
).split()

PARSERS: dict[str, Parser] = {
    ".txt": parse_plain,
    ".text": parse_plain,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".rst": parse_rst,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
    ".html": parse_html,
    ".htm": parse_html,
    **{ext: parse_plain for ext in CODE_AND_CONFIG},
}


def parser_for(ext: str) -> Parser | None:
    """The parser for a lower-case extension such as ``.md``, or None when unsupported."""
    return PARSERS.get(ext)


__all__ = ["PARSERS", "ParsedDocument", "Section", "Skipped", "decode_text", "parser_for"]
