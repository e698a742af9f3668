"""Plain text, Markdown and reStructuredText (heading-aware), source code and config files."""

from __future__ import annotations

import re

from assistant.knowledge.parsers.base import HeadingTrail, ParsedDocument, Skipped, decode_text

_ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:.<>_])\1{2,}\s*$")


def parse_plain(data: bytes) -> ParsedDocument | Skipped:
    """Text and code: one section; chunking cuts it at blank lines and sentences."""
    text = decode_text(data)
    if isinstance(text, Skipped):
        return text
    doc = ParsedDocument()
    doc.add(text)
    return doc


def parse_markdown(data: bytes) -> ParsedDocument | Skipped:
    """Markdown cut at ATX (``#``) and setext (underlined) headings, ignoring fenced code."""
    text = decode_text(data)
    if isinstance(text, Skipped):
        return text
    lines = text.splitlines()
    doc, trail = ParsedDocument(), HeadingTrail()
    body: list[str] = []
    in_fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _ATX.match(line)
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        if heading:
            doc.add("\n".join(body), str(trail))
            body = []
            trail.enter(len(heading.group(1)), heading.group(2))
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


def _is_list_item(line: str) -> bool:
    """Whether ``line`` is a list item (so ``---`` under it is a rule, not a heading)."""
    return bool(re.match(r"^\s*([-*+]|\d+[.)])\s", line))


def parse_rst(data: bytes) -> ParsedDocument | Skipped:
    """reStructuredText cut at titles; a title's level follows the order adornments first appear."""
    text = decode_text(data)
    if isinstance(text, Skipped):
        return text
    lines = text.splitlines()
    doc, trail, body = ParsedDocument(), HeadingTrail(), []
    styles: list[str] = []
    i = 0
    while i < len(lines):
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
