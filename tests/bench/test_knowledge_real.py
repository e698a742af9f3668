"""The real-size knowledge benchmark: Debian's documentation and man pages, indexed through the
core, re-synced unchanged, searched idle and while an answer streams."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.bench.debian_corpus import MAN_ROOT, man_sources, render_man_page, spread
from assistant.bench.retrieval import DOC_ROOT
from assistant.cli import main

installed = pytest.mark.skipif(
    not (DOC_ROOT / "postgresql-doc-15").is_dir() or not (MAN_ROOT / "man3").is_dir(),
    reason="the Debian documentation packages and man pages are not installed")

FIGURES = ("files", "corpus_mb", "chunks", "index_s", "peak_rss_mb", "index_size_mb",
           "unchanged_resync_s", "search_p50_ms", "search_p95_ms",
           "search_while_answering_p50_ms", "search_while_answering_p95_ms")


def test_a_subset_is_spread_over_every_package():
    items = [Path(f"/doc/git-{n}.html") for n in range(50)] + [
        Path(f"/doc/pg-{n}.html") for n in range(30)] + [Path(f"/man/{n}.3.gz") for n in range(20)]
    picked = spread(items, 10)
    assert len(set(picked)) == 10
    assert {p.name.split("-")[0].split(".")[-1] for p in picked} >= {"git", "pg", "gz"}
    assert spread(items, None) == items == spread(items, 1000)


@installed
def test_a_man_page_becomes_the_plain_text_man_shows():
    page = next(p for p in man_sources() if p.name == "printf.3.gz")
    text = render_man_page(page)
    assert "NAME" in text and "formatted output conversion" in text
    assert "\b" not in text and "\x1b" not in text  # no overstrikes or terminal colours
    assert all(p.name != "sprintf.3.gz" for p in man_sources())  # a link to printf.3


def test_the_debian_options_are_refused_for_the_generated_corpus():
    result = CliRunner().invoke(main, ["bench", "knowledge", "--scale", "100"])
    assert result.exit_code == 2 and "--corpus debian" in result.output


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder, embedded_model):
    """A subset of the corpus indexed once in a kept home, and the first run's figures."""
    from assistant.bench.knowledge import run_real_bench

    home = tmp_path_factory.mktemp("real") / "home"
    return home, run_real_bench(home, limit=6, queries=8, model=embedded_model,
                                embedder=embedder)


@installed
@pytest.mark.slow
def test_a_subset_indexes_then_resyncs_unchanged_in_a_reused_home(indexed, embedder,
                                                                  embedded_model):
    from assistant.bench.knowledge import run_real_bench

    home, first = indexed
    assert all(first[key] > 0 for key in FIGURES), first
    assert first["files"] == first["documents_indexed"] == 6
    assert first["chunks_this_run"] == first["chunks"] and first["chunks_per_s"] > 0
    assert first["unchanged_resync_changes"] == 0
    assert first["queries"] == 8 and first["answers_streamed"] >= 1
    assert {p.suffix for p in (home / "corpus").rglob("*") if p.is_file()} <= {".html", ".txt"}
    again = run_real_bench(home, limit=6, queries=8, model=embedded_model, embedder=embedder)
    assert again["chunks"] == first["chunks"] and again["files"] == 6
    assert again["chunks_this_run"] == 0 and again["chunks_per_s"] is None
    assert again["unchanged_resync_changes"] == 0


@installed
@pytest.mark.slow
def test_scale_builds_the_vector_index_over_distinct_real_passages(indexed, embedder,
                                                                   monkeypatch, tmp_path):
    from assistant.bench.knowledge_scale import run_scale
    from assistant.migrations import open_database
    from assistant.store import CHUNKS

    monkeypatch.setattr("assistant.store.store.VECTOR_INDEX_MIN_ROWS", 100)
    home, first = indexed
    source = open_database(home / "data" / "db", embedder.dim)
    rows = first["chunks"] + 40  # more than the corpus has: docstrings make up the rest
    queries = ["How do I undo my last commit?", "vacuum a table", "format a date with strftime"]
    result = run_scale(source, embedder, rows, queries, tmp_path / "scaled", tmp_path / "cache")
    assert result["scale_rows"] == rows and not result["scale_capped"]
    assert result["scale_corpus_chunks"] == first["chunks"]
    assert result["scale_docstring_passages"] == 40
    assert result["scale_vector_index"] is True
    assert 0.0 <= result["recall_at_10_min"] <= result["recall_at_10"] <= 1.0
    assert result["cold_results"] == 5 and result["cold_open_to_result_ms"] > 0
    assert result["cold_process_to_result_ms"] > result["cold_open_to_result_ms"]
    assert len(list((tmp_path / "cache" / "bench").glob("docstrings-*.npy"))) == 1
    scaled = open_database(tmp_path / "scaled", embedder.dim)
    ids = scaled.arrow(CHUNKS.name, columns=["id", "text"])
    assert ids.num_rows == rows == len(set(ids.column("id").to_pylist()))
    assert len(set(ids.column("text").to_pylist())) == rows  # no copies
