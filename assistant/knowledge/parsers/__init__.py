"""Parsers by file extension: each turns a file's bytes into ordered, headed sections."""

from __future__ import annotations

from typing import Protocol

from assistant.errors import DocumentBudgetError
from assistant.knowledge.parsers.base import (
    ParsedDocument,
    ReadBudget,
    Section,
    Skipped,
    decode_text,
    timed_out_after,
)
from assistant.knowledge.parsers.html import parse_html
from assistant.knowledge.parsers.office import parse_docx
from assistant.knowledge.parsers.pdf import parse_pdf
from assistant.knowledge.parsers.text import parse_markdown, parse_plain, parse_rst


class Parser(Protocol):
    """Turns a file's bytes into sections; gives up when ``budget`` runs out."""

    def __call__(self, data: bytes, budget: ReadBudget | None = None
                 ) -> ParsedDocument | Skipped: ...


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


def parse_document(ext: str, data: bytes, budget: ReadBudget) -> ParsedDocument | Skipped:
    """A file's sections by its extension; a file that runs out of ``budget`` (time, or size
    once unpacked) is skipped with the reason, like an unsupported one."""
    parser = parser_for(ext)
    if parser is None:
        return Skipped("unsupported file type")
    try:
        return parser(data, budget)
    except DocumentBudgetError as exc:
        return Skipped(str(exc))


__all__ = ["PARSERS", "ParsedDocument", "ReadBudget", "Section", "Skipped", "decode_text",
           "parse_document", "parser_for", "timed_out_after"]
