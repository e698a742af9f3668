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

CITATION_SCHEME = "cite"
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*).*$")
_CITATION = re.compile(r"\[(\d{1,2})\](?!\()")


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
    parts = [f"{completion_tokens} tokens"]
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
