"""The main text of HTML pages, without navigation, scripts or styles, cut at headings."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Doctype, ProcessingInstruction

from assistant.knowledge.parsers.base import HeadingTrail, ParsedDocument

_DROP = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template",
         "svg", "iframe", "button", "menu"]
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = {"p", "div", "li", "br", "tr", "pre", "blockquote", "section", "article", "table",
           "ul", "ol", "dl", "dt", "dd", "figcaption", "hr", "main"}


def parse_html(data: bytes) -> ParsedDocument:
    """The page's ``<main>`` (or ``<article>``, or ``<body>``) text, one section per heading."""
    soup = BeautifulSoup(data, "lxml")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all(attrs={"role": ["navigation", "banner", "contentinfo"]}):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    doc, trail, parts = ParsedDocument(), HeadingTrail(), []
    for node in root.descendants:
        if isinstance(node, Tag):
            if node.name in _HEADINGS:
                doc.add(_tidy("".join(parts)), str(trail))
                parts = []
                trail.enter(int(node.name[1]), node.get_text(" ", strip=True))
            elif node.name in _BLOCKS:
                parts.append("\n")
        elif isinstance(node, NavigableString) and not isinstance(
            node, (Comment, Doctype, ProcessingInstruction)
        ):
            if node.find_parent(_HEADINGS) is None:
                parts.append(str(node))
    doc.add(_tidy("".join(parts)), str(trail))
    return doc


def _tidy(text: str) -> str:
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
