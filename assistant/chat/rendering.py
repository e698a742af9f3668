"""Answer text made ready for display: code blocks apart from prose, citations as links.

Front ends render prose as Markdown and code blocks with highlighting; this module only splits and
annotates the text, so the Qt GUI and any other front end show an answer the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.statuses import FinishReason
from assistant.wording import plural

CITATION_SCHEME = "cite"
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*).*$")
_CITATION = re.compile(r"\[(\d{1,2})\](?!\()")
# Lines that stand alone (a heading, a table row, HTML, a rule or a heading's underline) and
# list items: a line break before or after them is no line break inside a paragraph.
_OWN_LINE = re.compile(r" {0,3}(?:#{1,6}(?:[ \t]|$)|\||<|(?:[-*_][ \t]*){3,}$|=+[ \t]*$)")
_LIST_ITEM = re.compile(r" {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_TABLE_DELIMITER = re.compile(r" {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_QUOTE = re.compile(r" {0,3}>[ \t]?")
_INDENTED = re.compile(r"(?: {4}|\t)")
_HARD_BREAK = re.compile(r"(?: {2,}|(?<!\\)\\)$")  # Markdown's own: two spaces or a backslash
LINE_SEPARATOR = "\u2028"
SNIPPET_CHARS = 220  # a source card's passage, before "More"


@dataclass(frozen=True)
class Block:
    """A run of prose (Markdown) or one fenced code block with its language."""

    kind: str  # "prose" | "code"
    text: str
    language: str = ""
    closed: bool = True  # False for a code block still streaming in


def split_blocks(text: str) -> list[Block]:
    """Cut ``text`` into prose and fenced code blocks; an unclosed fence runs to the end."""
    blocks: list[Block] = []
    prose: list[str] = []
    code: list[str] = []
    fence = ""
    language = ""
    for line in text.splitlines():
        if not fence:
            match = _FENCE.match(line)
            if match:
                if "".join(prose).strip():
                    blocks.append(Block("prose", "\n".join(prose).strip("\n")))
                prose = []
                fence, language, code = match["fence"], match["lang"], []
            else:
                prose.append(line)
        elif line.strip().startswith(fence[0] * len(fence)) and not line.strip(fence[0]).strip():
            blocks.append(Block("code", "\n".join(code), language))
            fence = ""
        else:
            code.append(line)
    if fence:
        blocks.append(Block("code", "\n".join(code), language, closed=False))
    elif "".join(prose).strip():
        blocks.append(Block("prose", "\n".join(prose).strip("\n")))
    return blocks


def keep_line_breaks(markdown: str) -> str:
    """``markdown`` with each single line break inside a paragraph kept as a line break.

    Markdown joins a paragraph's lines with spaces, so a poem or an address written one line
    at a time ran together on screen (copy and export kept the lines): a model means the line
    breaks it writes. Such lines are joined with LINE SEPARATOR (U+2028), a break within the
    paragraph, rather than with Markdown's hard break, which Qt's reader makes a paragraph of
    its own (the lines of a poem spaced as far apart as its stanzas); hard breaks already
    written are treated alike. Code (fenced or indented), tables, headings, list items and the
    line before a new block are left as they are.
    """
    lines = markdown.split("\n")
    kept: list[str] = []
    fence = ""
    in_table = in_code = joining = False
    previous_blank = True
    for index, line in enumerate(lines):
        blank = not line.strip()
        fence_match = _FENCE.match(line)
        if fence or fence_match:
            if not fence:
                fence = fence_match["fence"] if fence_match else ""
            elif fence_match and fence_match["fence"].startswith(fence[0] * len(fence)) \
                    and not fence_match["lang"]:
                fence = ""
            previous_blank = True  # what follows a code block starts a block of its own
            kept.append(line)
            continue
        in_table = not blank and (in_table or bool(_TABLE_DELIMITER.match(line) and "|" in line))
        in_code = bool(_INDENTED.match(line)) and (previous_blank or in_code) or \
            (blank and in_code)
        previous_blank = blank
        following = lines[index + 1] if index + 1 < len(lines) else ""
        breaks = not (blank or in_table or in_code) and _continues(line, following)
        text = _quote_depth(line)[1].lstrip() if joining else line
        if breaks:
            text = _HARD_BREAK.sub("", text)
        if joining:
            kept[-1] += LINE_SEPARATOR + text
        else:
            kept.append(text)
        joining = breaks
    return "\n".join(kept)


def _continues(line: str, following: str) -> bool:
    """Whether ``following`` goes on with the paragraph ``line`` is in."""
    depth, inner = _quote_depth(line)
    following_depth, following_inner = _quote_depth(following)
    if _OWN_LINE.match(inner) or following_depth > depth or not following_inner.strip():
        return False
    return not any(pattern.match(following_inner)
                   for pattern in (_OWN_LINE, _LIST_ITEM, _FENCE, _TABLE_DELIMITER))


def _quote_depth(line: str) -> tuple[int, str]:
    """How many block quotes ``line`` is in, and its text without their markers."""
    depth = 0
    while match := _QUOTE.match(line):
        depth += 1
        line = line[match.end():]
    return depth, line


def snippet_preview(text: str, limit: int = SNIPPET_CHARS) -> tuple[str, bool]:
    """``text`` with its whitespace made single spaces, cut at the last whole word within
    ``limit`` characters (with "…"); and whether anything was cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat, False
    cut = flat[:limit + 1].rsplit(" ", 1)[0] if " " in flat[:limit + 1] else flat[:limit]
    return cut.rstrip(" ,;:.-") + "…", True


def link_citations(markdown: str, numbers: set[int]) -> str:
    """Turn ``[n]`` for each known source number into a Markdown link ``cite:n``."""

    def replace(match: re.Match[str]) -> str:
        number = int(match[1])
        if number not in numbers:
            return match[0]
        return f"[\\[{number}\\]]({CITATION_SCHEME}:{number})"

    return _CITATION.sub(replace, markdown)


def citation_number(url: str) -> int | None:
    """The source number of a ``cite:n`` link, or None for any other link."""
    scheme, _, rest = url.partition(":")
    if scheme != CITATION_SCHEME or not rest.isdigit():
        return None
    return int(rest)


def source_location(source: dict[str, Any]) -> str:
    """Where in its file a cited chunk lies: "page 3", a heading, or nothing."""
    if source.get("page"):
        return f"page {source['page']}"
    return str(source.get("heading") or "")


def source_title(source: dict[str, Any]) -> str:
    """A citation's file name and location, e.g. "guide.pdf · page 3"."""
    name = Path(str(source.get("path", ""))).name
    where = source_location(source)
    return f"{name} · {where}" if where else name


def answer_stats_line(completion_tokens: int, seconds: float, adapters: list[dict[str, Any]],
                      finish_reason: str = "", engine: str = "") -> str:
    """A one-line summary of an answer: tokens, speed, adapters, which engine answered (when
    known), and why it stopped early."""
    parts = [plural(completion_tokens, "token")]
    if engine:
        parts.append("local engine" if engine == "local" else f"via {engine}")
    if seconds > 0:
        parts.append(f"{seconds:.1f} s · {completion_tokens / seconds:.0f} tok/s")
    if adapters:
        parts.append("adapters: " + ", ".join(f"{a['name']}×{a['scale']:g}" for a in adapters))
    if finish_reason == FinishReason.CANCELLED:
        parts.append("stopped")
    elif finish_reason == FinishReason.LENGTH:
        parts.append("cut at the length limit")
    return " · ".join(parts)


def openable_source(path: str, folders: list[str]) -> Path | None:
    """``path`` resolved, when it is an existing file inside a watched folder; else None.

    Citations come from the index, so this guards against opening anything the user did not
    choose to share with the assistant (a stale row, a path pointing out through a link).
    """
    try:
        target = Path(path).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_file():
        return None
    for folder in folders:
        root = Path(folder).expanduser().resolve()
        if target == root or root in target.parents:
            return target
    return None
