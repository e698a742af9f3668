"""Answer text split for display, citations linked, and which cited files may be opened."""

from __future__ import annotations

from assistant.chat.rendering import (
    answer_stats_line,
    citation_number,
    link_citations,
    openable_source,
    source_title,
    split_blocks,
)


def test_split_blocks_separates_code_and_keeps_an_open_fence_streaming():
    blocks = split_blocks("Intro\n\n```python\nprint(1)\n```\nAfter\n```sh\nls")
    assert [(b.kind, b.language, b.closed) for b in blocks] == [
        ("prose", "", True), ("code", "python", True), ("prose", "", True),
        ("code", "sh", False)]
    assert blocks[1].text == "print(1)"


def test_citations_become_links_only_for_known_sources():
    text = link_citations("Hot [1], cold [3], link [1](http://x)", {1, 2})
    assert "[\\[1\\]](cite:1)" in text and "[3]" in text and "[1](http://x)" in text
    assert citation_number("cite:2") == 2
    assert citation_number("https://example.com") is None


def test_titles_and_stats():
    assert source_title({"path": "/a/guide.pdf", "page": 3}) == "guide.pdf · page 3"
    assert source_title({"path": "/a/notes.md", "page": 0, "heading": "Dose"}) == "notes.md · Dose"
    line = answer_stats_line(20, 2.0, [{"name": "style", "scale": 0.5}], "cancelled")
    assert line == "20 tokens · 2.0 s · 10 tok/s · adapters: style×0.5 · stopped"


def test_only_files_inside_watched_folders_open(tmp_path):
    watched = tmp_path / "watched"
    watched.mkdir()
    inside = watched / "a.md"
    inside.write_text("x")
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    (watched / "link.txt").symlink_to(outside)
    assert openable_source(str(inside), [str(watched)]) == inside.resolve()
    assert openable_source(str(outside), [str(watched)]) is None
    assert openable_source(str(watched / "link.txt"), [str(watched)]) is None
    assert openable_source(str(watched / "gone.md"), [str(watched)]) is None
