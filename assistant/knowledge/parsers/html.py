"""The main text of HTML pages, without navigation, scripts or styles, cut at headings.

The tree is walked once, with an explicit stack: whether a string sits in a heading is known from
the walk, never by looking up its parents (``find_parent`` per string made a page of 10,000
unclosed ``<span>`` tags quadratic: 46 s for 64 KB), and left-out parts (navigation, scripts)
are passed over rather than taken out of the tree one by one (each removal walks its subtree).
"""

from __future__ import annotations

import gc
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from bs4 import BeautifulSoup, NavigableString, Tag, XMLParsedAsHTMLWarning
from bs4.element import Comment, Doctype, PageElement, ProcessingInstruction

from assistant.knowledge.parsers.base import HeadingTrail, ParsedDocument, ReadBudget

_DROP = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template",
         "svg", "iframe", "button", "menu"}
_DROP_ROLES = {"navigation", "banner", "contentinfo"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Table cells too: without a break, "8 bytes" and "both date and time" in adjacent cells fuse
# into one word ("bytesboth") that neither full-text nor meaning search can match.
_BLOCKS = {"p", "div", "li", "br", "tr", "td", "th", "pre", "blockquote", "section", "article",
           "table", "ul", "ol", "dl", "dt", "dd", "figcaption", "hr", "main"}
# Previous/next links of DocBook and Sphinx pages: the neighbours' titles, not this page's text.
_NAV_CLASSES = {"navheader", "navfooter", "related"}
_NOT_TEXT = (Comment, Doctype, ProcessingInstruction)
_LANDMARKS = {"title", "main", "article"}


class _Step(Enum):
    ENTER = 1
    LEAVE = 2
    TEXT = 3


def parse_html(data: bytes, budget: ReadBudget | None = None) -> ParsedDocument:
    """The page's ``<main>`` (or ``<article>``, or ``<body>``) text, one section per heading."""
    with _cycle_collector_paused(), warnings.catch_warnings():
        # XHTML pages (git's docs among them) read as HTML just as well; the warning would
        # land on the terminal of every indexing command.
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(data, "lxml")
        try:
            return _read(soup, budget or ReadBudget())
        finally:
            soup.decompose()  # breaks the tree's cycles, so it is freed now, not by a collection


def _read(soup: BeautifulSoup, budget: ReadBudget) -> ParsedDocument:
    budget.check()
    found = _landmarks(soup, budget)
    title = " ".join(found["title"].get_text(" ").split()) if "title" in found else ""
    root = found.get("main") or found.get("article") or soup.body or soup
    doc, trail = ParsedDocument(), HeadingTrail()
    parts: list[str] = []
    heading: Tag | None = None  # the heading being read, whose words make its title
    words: list[str] = []
    for step, node in _walk(root, budget):
        if heading is not None:
            if step is _Step.TEXT:
                words.append(str(node))
            elif step is _Step.LEAVE and node is heading:
                trail.enter(int(heading.name[1]), " ".join(" ".join(words).split()))
                heading, words = None, []
        elif step is _Step.ENTER and isinstance(node, Tag):
            if node.name in _HEADINGS:
                doc.add(_tidy("".join(parts)), _titled(title, str(trail)))
                parts, heading = [], node
            elif node.name in _BLOCKS:
                parts.append("\n")
        elif step is _Step.TEXT:
            parts.append(str(node))
    doc.add(_tidy("".join(parts)), _titled(title, str(trail)))
    return doc


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a page's tree is built and read.

    A tree of N tags is N objects in cycles (child and parent point at each other), and the
    full collections that its build triggers walk all of them again and again: measured on 400 KB
    of nested spans, 1.16 s with the collector and 0.65 s without, and ten times the input cost
    13–16 times the time with it, 10 times without.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _walk(root: Tag, budget: ReadBudget) -> Iterator[tuple[_Step, PageElement]]:
    """Tags entered and left, and text strings, in document order, skipping left-out parts."""
    stack: list[tuple[Tag, Iterator[PageElement]]] = [(root, iter(root.contents))]
    steps = 0
    while stack:
        steps += 1
        if steps % 1024 == 0:
            budget.check()
        tag, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            yield _Step.LEAVE, tag
        elif isinstance(child, Tag):
            if not _left_out(child):
                yield _Step.ENTER, child
                stack.append((child, iter(child.contents)))
        elif isinstance(child, NavigableString) and not isinstance(child, _NOT_TEXT):
            yield _Step.TEXT, child


def _landmarks(soup: BeautifulSoup, budget: ReadBudget) -> dict[str, Tag]:
    """The first ``title``, ``main`` and ``article`` tags outside the left-out parts."""
    found: dict[str, Tag] = {}
    for step, node in _walk(soup, budget):
        if step is _Step.ENTER and isinstance(node, Tag) and node.name in _LANDMARKS:
            found.setdefault(node.name, node)
    return found


def _left_out(tag: Tag) -> bool:
    """Navigation, scripts, styles, forms and the like: not the page's text."""
    role = tag.get("role")
    if tag.name in _DROP or (isinstance(role, str) and role in _DROP_ROLES):
        return True
    classes = tag.get("class") or ()
    return not _NAV_CLASSES.isdisjoint(classes.split() if isinstance(classes, str) else classes)


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
