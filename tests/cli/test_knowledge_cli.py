"""``loremind index``, ``search --json``, ``knowledge status --json`` and ``bench knowledge``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.cli import main
from tests.knowledge.helpers import make_pdf


@pytest.fixture
def shared_embedder(embedder, monkeypatch):
    """Commands load the embedder themselves; hand them the session's (the real model)."""
    monkeypatch.setattr("assistant.knowledge.embedder.Embedder", lambda: embedder)
    monkeypatch.setattr("assistant.bench.knowledge.Embedder", lambda: embedder)
    return embedder


def test_index_then_search_returns_cited_chunks(tmp_path, shared_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Setup\n\n## Network\n\nError NX-301 means the cable is "
                                   "unplugged. Plug it back in.")
    (docs / "manual.pdf").write_bytes(make_pdf(["Cover page.", "Clean the lens with a soft "
                                                "cloth every month."]))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    runner = CliRunner()
    result = runner.invoke(main, ["index", str(docs)])
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output and "1 failed" in result.output

    result = runner.invoke(main, ["search", "--json", "--k", "2", "NX-301"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert set(hits[0]) == {"path", "page", "heading", "score", "similarity", "text"}
    assert hits[0]["path"].endswith("guide.md") and hits[0]["heading"] == "Setup > Network"

    hits = json.loads(runner.invoke(main, ["search", "--json", "how to wipe the optics"]).output)
    assert hits[0]["path"].endswith("manual.pdf") and hits[0]["page"] == 2

    result = runner.invoke(main, ["search", "how to wipe the optics"])
    assert "manual.pdf (page 2)" in result.output
    assert "guide.md (Setup > Network)" in runner.invoke(main, ["search", "NX-301"]).output

    status = json.loads(runner.invoke(main, ["knowledge", "status", "--json"]).output)
    assert status["by_status"] == {"indexed": 2, "failed": 1}
    assert status["not_indexed"][0]["path"].endswith("broken.pdf")
    assert "PDF" in status["not_indexed"][0]["reason"]


def test_index_needs_a_folder(shared_embedder):
    result = CliRunner().invoke(main, ["index"])
    assert result.exit_code == 2 and "at least one folder" in result.output


def test_bench_knowledge_json_keys(shared_embedder):
    result = CliRunner().invoke(main, ["bench", "knowledge", "--json", "--files", "12"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    for key in ("embed_chunks_per_s", "index_chunks_per_s", "ratio", "resync_unchanged_s",
                "query_p50_ms", "query_p95_ms", "chunks"):
        assert figures[key] > 0


NOTES = 1500  # enough that the first commits come well before the end


def test_ctrl_c_stops_indexing_cleanly_and_the_rerun_finishes(tmp_path, loremind_home):
    """The first Ctrl+C lets the file in hand finish, keeps what was indexed (exit 130), and
    leaves a store that the next run completes."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from assistant.migrations import open_database
    from assistant.paths import app_paths
    from tests.core.test_core import write_notes
    from tests.knowledge.helpers import assert_consistent

    folder = tmp_path / "notes"
    write_notes(folder, NOTES)
    command = [sys.executable, "-m", "assistant", "index", str(folder)]
    env = dict(os.environ, LOREMIND_HOME=str(loremind_home))
    root = Path(__file__).parents[2]
    process = subprocess.Popen(command, env=env, cwd=root, stderr=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stderr is not None
    started = time.monotonic()
    while True:  # a progress line once some chunks are stored (the first batch's commit)
        line = process.stderr.readline()
        if line.startswith("Indexing") and not line.rstrip().endswith(" 0 chunks"):
            break
        assert time.monotonic() - started < 120 and process.poll() is None
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Stopped" in err and "Traceback" not in err
    store = open_database(app_paths())
    indexed = store.count("documents", "status = 'indexed'")
    assert 0 < indexed < NOTES
    assert_consistent(store)

    rerun = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{NOTES - indexed} added" in rerun.stdout
    assert store.count("documents", "status = 'indexed'") == NOTES
    assert_consistent(store)


def test_a_folder_removed_by_another_command_while_it_indexes_leaves_no_row(tmp_path,
                                                                           loremind_home):
    """``loremind knowledge remove`` in one terminal while ``loremind index`` runs in another:
    the indexing process sees the removal at its next write, stops, and keeps nothing."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from assistant.migrations import open_database
    from assistant.paths import app_paths
    from tests.core.test_core import write_notes
    from tests.knowledge.helpers import assert_consistent

    folder = tmp_path / "notes"
    write_notes(folder, NOTES)
    env = dict(os.environ, LOREMIND_HOME=str(loremind_home))
    root = Path(__file__).parents[2]
    indexing = subprocess.Popen([sys.executable, "-m", "assistant", "index", str(folder)],
                                env=env, cwd=root, stderr=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
    assert indexing.stderr is not None
    started = time.monotonic()
    while True:  # the first batch is stored
        line = indexing.stderr.readline()
        if line.startswith("Indexing") and not line.rstrip().endswith(" 0 chunks"):
            break
        assert time.monotonic() - started < 120 and indexing.poll() is None
    removed = subprocess.run([sys.executable, "-m", "assistant", "knowledge", "remove",
                              str(folder)], env=env, cwd=root, capture_output=True, text=True,
                             timeout=120)
    assert removed.returncode == 0, removed.stderr
    out, err = indexing.communicate(timeout=120)
    assert indexing.returncode == 1
    assert "was removed from Knowledge" in err and "Traceback" not in err
    store = open_database(app_paths())
    key = str(folder.resolve())
    assert store.count("documents", f"folder = '{key}'") == 0
    assert store.count("chunks", f"folder = '{key}'") == 0
    assert_consistent(store)
