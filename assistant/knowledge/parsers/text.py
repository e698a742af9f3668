"""Plain text, Markdown and reStructuredText (heading-aware), source code and config files.

Every pattern here matches in time linear in its line: a line is a user's file, and a pattern
that backtracks (the ATX heading pattern with its lazy title and optional closing ``#`` run did,
cubically in a line's length) turned a 6 KB file of heading-like lines into minutes of parsing.
"""

from __future__ import annotations

import re

from assistant.knowledge.parsers.base import (
    HeadingTrail,
    ParsedDocument,
    ReadBudget,
    Skipped,
    decode_text,
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:.<>_])\1{2,}\s*$")


def parse_plain(data: bytes, budget: ReadBudget | None = None) -> ParsedDocument | Skipped:
    """Text and code: one section; chunking cuts it at blank lines and sentences."""
    text = decode_text(data)
    if isinstance(text, Skipped):
        return text
    doc = ParsedDocument()
    doc.add(text)
    return doc


def parse_markdown(data: bytes, budget: ReadBudget | None = None) -> ParsedDocument | Skipped:
    """Markdown cut at ATX (``#``) and setext (underlined) headings, ignoring fenced code."""
    budget = budget or ReadBudget()
    text = decode_text(data)
    if isinstance(text, Skipped):
        return text
    lines = text.splitlines()
    doc, trail = ParsedDocument(), HeadingTrail()
    body: list[str] = []
    in_fence = False
    for i, line in enumerate(lines):
        budget.check()
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _atx_heading(line)
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        if heading:
            doc.add("\n".join(body), str(trail))
            body = []
            trail.enter(*heading)
        elif not in_fence and line.strip() and _SETEXT.match(next_line) and not _is_list_item(line):
            doc.add("\n".join(body), str(trail))
            body = []
            trail.enter(1 if next_line.startswith("=") else 2, line)
        elif not in_fence and _SETEXT.match(line) and i > 0 and lines[i - 1].strip():
            continue  # the underline of a setext heading
        else:
            body.append(line)
    doc.add("\n".join(body), str(trail))
    return doc


def _atx_heading(line: str) -> tuple[int, str] | None:
    """The level and title of an ATX heading (``## Title ##``), or None: one to six ``#``, a
    space, the title; a closing run of ``#`` is not part of it. String methods, no pattern."""
    title = line.lstrip("#")
    level = len(line) - len(title)
    if not 1 <= level <= 6 or not title[:1].isspace() or not title.strip():
        return None
    return level, title.strip().rstrip("#").rstrip()


def _is_list_item(line: str) -> bool:
    """Whether ``line`` is a list item (so ``---`` under it is a rule, not a heading)."""
    return bool(re.match(r"^\s*([-*+]|\d+[.)])\s", line))


def parse_rst(data: bytes, budget: ReadBudget | None = None) -> ParsedDocument | Skipped:
    """reStructuredText cut at titles; a title's level follows the order adornments first appear."""
    budget = budget or ReadBudget()
    text = decode_text(data)
    if isinstance(text, Skipped):
        return text
    lines = text.splitlines()
    doc, trail, body = ParsedDocument(), HeadingTrail(), []
    styles: list[str] = []
    i = 0
    while i < len(lines):
        budget.check()
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        over = _RST_ADORNMENT.match(line)
        if over and nxt.strip() and i + 2 < len(lines) and _RST_ADORNMENT.match(lines[i + 2]):
            style, title, step = "over" + over.group(1), nxt, 3  # overlined title
        elif line.strip() and not over and _RST_ADORNMENT.match(nxt) and len(nxt.strip()) >= len(
            line.strip()
        ):
            style, title, step = nxt.strip()[0], line, 2
        else:
            body.append(line)
            i += 1
            continue
        if style not in styles:
            styles.append(style)
        doc.add("\n".join(body), str(trail))
        body = []
        trail.enter(styles.index(style) + 1, title)
        i += step
    doc.add("\n".join(body), str(trail))
    return doc
