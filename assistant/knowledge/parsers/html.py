"""The main text of HTML pages, without navigation, scripts or styles, cut at headings."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Doctype, ProcessingInstruction

from assistant.knowledge.parsers.base import HeadingTrail, ParsedDocument

_DROP = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template",
         "svg", "iframe", "button", "menu"]
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Table cells too: without a break, "8 bytes" and "both date and time" in adjacent cells fuse
# into one word ("bytesboth") that neither full-text nor meaning search can match.
_BLOCKS = {"p", "div", "li", "br", "tr", "td", "th", "pre", "blockquote", "section", "article",
           "table", "ul", "ol", "dl", "dt", "dd", "figcaption", "hr", "main"}
# Previous/next links of DocBook and Sphinx pages: the neighbours' titles, not this page's text.
_NAV_CLASSES = ["navheader", "navfooter", "related"]


def parse_html(data: bytes) -> ParsedDocument:
    """The page's ``<main>`` (or ``<article>``, or ``<body>``) text, one section per heading."""
    soup = BeautifulSoup(data, "lxml")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all(role=["navigation", "banner", "contentinfo"]):
        tag.decompose()
    for tag in soup.find_all(class_=_NAV_CLASSES):
        tag.decompose()
    title = " ".join(soup.title.get_text(" ").split()) if soup.title else ""
    root = soup.find("main") or soup.find("article") or soup.body or soup
    doc, trail = ParsedDocument(), HeadingTrail()
    parts: list[str] = []
    for node in root.descendants:
        if isinstance(node, Tag):
            if node.name in _HEADINGS:
                doc.add(_tidy("".join(parts)), _titled(title, str(trail)))
                parts = []
                trail.enter(int(node.name[1]), " ".join(node.get_text(" ").split()))
            elif node.name in _BLOCKS:
                parts.append("\n")
        elif isinstance(node, NavigableString) and not isinstance(
            node, (Comment, Doctype, ProcessingInstruction)
        ):
            if node.find_parent(_HEADINGS) is None:
                parts.append(str(node))
    doc.add(_tidy("".join(parts)), _titled(title, str(trail)))
    return doc


def _titled(title: str, trail: str) -> str:
    """The heading trail under the page's title, unless the trail already starts with it.

    A reference page's sections ("Synopsis", "Description") say nothing of what the page is
    about; its title does, for the reader of a citation and for search alike.
    """
    top = trail.split(" > ")[0]
    if not title or (top and (top.startswith(title) or title.startswith(top))):
        return trail or title
    return f"{title} > {trail}" if trail else title


def _tidy(text: str) -> str:
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
