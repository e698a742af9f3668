"""Parsers in linear time on pathological inputs, and a time and size budget per document.

Issue 26: a 6 KB Markdown file of heading-like lines took 198 s (the ATX pattern backtracked);
a 64 KB page of unclosed ``<span>`` tags took 46 s (a parent lookup per string). Each shape
below is parsed at a size and at ten times that size: the time may grow at most 15-fold.
"""

from __future__ import annotations

import io
import random
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.config import KnowledgeSettings
from assistant.knowledge.indexer import Indexer
from assistant.knowledge.parsers import ReadBudget, Skipped, parse_document, parser_for
from assistant.store import DOCUMENTS
from tests.knowledge.helpers import assert_consistent, make_docx


def _heading_like(size: int) -> bytes:
    """Lines of ``#`` with long runs of spaces and ``#``, ending in a word."""
    run = max(1, size // 12)
    line = "#" + " " * run + "#" * run + " " * run + "#" * run + "x\n"
    return (line * max(1, size // len(line))).encode()


def _hash_line(size: int) -> bytes:
    """One line: ``#``, then alternating spaces and ``#`` — the other backtracking shape."""
    return ("#" + " #" * (size // 2) + " x").encode()


def _setext_and_rst(size: int) -> bytes:
    """Adornment-like lines that almost match (a long run, then spaces, then a letter)."""
    run = max(1, size // 30)
    lines = ["=" * run + " " * run + "x", "-" * run, "Title", "~" * run + " " * run]
    return ("\n".join(lines) * max(1, size // (4 * run))).encode()[:size]


def _nested_spans(size: int) -> bytes:
    return ("<html><body>" + "<span>x" * (size // 7)).encode()


def _nested_left_out(size: int) -> bytes:
    """Unclosed navigation inside unclosed divs, with headings: each left-out part nests."""
    unit = "<div><aside>a<nav>n<h2>t</h2>"
    return ("<html><body><main>" + unit * (size // len(unit))).encode()


def _nested_headings(size: int) -> bytes:
    return ("<html><body>" + "<h1><b>w" * (size // 8)).encode()


def _random_markdown(size: int) -> bytes:
    rng = random.Random(size)
    alphabet = "#  ###\t-=x`~*1."
    lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
             for _ in range(size // 200)]
    return "\n".join(lines).encode()


SHAPES: dict[str, tuple[str, Callable[[int], bytes], int]] = {
    "markdown heading-like lines": (".md", _heading_like, 20_000),
    "markdown one long hash line": (".md", _hash_line, 20_000),
    "markdown random symbols": (".md", _random_markdown, 20_000),
    "rst near-adornments": (".rst", _setext_and_rst, 20_000),
    "markdown near-setext": (".md", _setext_and_rst, 20_000),
    "html nested spans": (".html", _nested_spans, 40_000),
    "html nested left-out parts": (".html", _nested_left_out, 40_000),
    "html nested headings": (".html", _nested_headings, 40_000),
}


def _cpu_seconds(ext: str, data: bytes) -> float:
    """The least CPU time of three parses (CPU, not wall: the machine is shared)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        parsed = parse_document(ext, data, ReadBudget())
        best = min(best, time.process_time() - started)
        assert not isinstance(parsed, Skipped)
    return best


@pytest.mark.parametrize("name", SHAPES)
def test_parse_time_grows_linearly(name):
    ext, make, size = SHAPES[name]
    small, large = make(size), make(size * 10)
    assert len(large) >= 9 * len(small)
    # A floor of 5 ms keeps timer noise on a tiny input from deciding the ratio.
    ratio = _cpu_seconds(ext, large) / max(_cpu_seconds(ext, small), 0.005)
    assert ratio <= 15, f"{name}: 10× the input took {ratio:.1f}× the time"


def test_atx_headings_keep_their_meaning():
    text = (b"# Title ##\nbody one\n####### seven is not a heading\n#hashtag\n## C#\nbody two\n"
            b"#   spaced   #  \nbody three\n")
    doc = parser_for(".md")(text)
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("Title", "body one\n####### seven is not a heading\n#hashtag"),
        ("Title > C", "body two"), ("spaced", "body three")]


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.timeout(300)
def test_the_issues_files_index_in_under_five_seconds(store, embedder, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    _write(docs, "headings.md", _heading_like(20_000))
    _write(docs, "spans.html", _nested_spans(400_000))
    embedder.encode(["warm up the model first"])
    started = time.perf_counter()
    report = Indexer(store, embedder).sync(docs)
    seconds = time.perf_counter() - started
    assert report.failed == 0 and report.added + report.skipped == 2
    assert seconds < 5, f"indexing took {seconds:.1f} s"
    assert_consistent(store)


def test_a_document_out_of_time_is_skipped_and_the_folder_goes_on(store, embedder, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    # Many headings and one line of text: slow enough to read, quick to embed afterwards.
    slow = _write(docs, "slow.md", b"# Heading\n" * 400_000 + b"The one line of text.\n")
    _write(docs, "fine.txt", b"The lighthouse keeper writes in the log every night.")
    report = Indexer(store, embedder, KnowledgeSettings(max_read_seconds=0.05)).sync(docs)
    rows = {Path(r["path"]).name: r for r in store.rows(DOCUMENTS.name)}
    assert rows["fine.txt"]["status"] == "indexed"
    assert rows["slow.md"]["status"] == "skipped"
    assert rows["slow.md"]["reason"] == ("took longer than 0.05 s to read "
                                         "(knowledge.max_read_seconds)")
    assert report.problems[str(slow)] == rows["slow.md"]["reason"]
    # With a larger budget the unchanged file is read again, not left skipped for good.
    again = Indexer(store, embedder).sync(docs)
    assert again.added + again.updated == 1
    assert store.rows(DOCUMENTS.name, where="status = 'skipped'") == []
    assert_consistent(store)


def test_a_docx_that_unpacks_too_large_is_skipped_with_the_reason():
    packed = make_docx([("p", "a" * 3_000_000)])
    assert len(packed) < 1_000_000 and zipfile.ZipFile(io.BytesIO(packed)).getinfo(
        "word/document.xml").file_size > 2_000_000
    skipped = parse_document(".docx", packed, ReadBudget(max_bytes=2_000_000))
    assert isinstance(skipped, Skipped)
    assert skipped.reason.startswith("its text unpacks to 3 MB, more than the 2 MB")
