"""The Models page's Retrieval section, driven offscreen: an embedder downloaded from a local hub
and used for search rebuilds the index in the background while search answers from the old one,
then swaps in; a reranker is chosen and dropped. A real window and core, the real
all-MiniLM-L6-v2, and tiny generated BERT GGUFs served under catalogue names."""

from __future__ import annotations

import pytest

from assistant.bench.synthetic_retrieval import write_tiny_embedder, write_tiny_reranker
from assistant.defaults import EMBEDDER_NAME
from assistant.models import load_catalogue
from tests.core.rebuild_hold import RebuildHold
from tests.core.test_embedder_switch import NOTES, vector_lengths, write_notes
from tests.models.conftest import file_keyring, hub, model_bytes
from tests.ui.layout_checks import cut_texts

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("file_keyring")]
__all__ = ["file_keyring", "hub", "model_bytes"]  # fixtures shared with tests/models
WAIT_MS = 60000
EMBEDDER = "bge-small-en-v1.5"
RERANKER = "jina-reranker-v1-tiny-en"


def serve(hub, name: str, data: bytes) -> None:
    entry = load_catalogue().get(name)
    assert entry is not None
    hub.add(entry.repo, entry.file, data)


def searched(app, qtbot, query: str):
    """Search as the window runs work that reads the index: on the db lane."""
    future = app.tasks.run("db", lambda: app.core.knowledge.search(query))
    qtbot.waitUntil(future.done, timeout=WAIT_MS)
    return future.result()


def download(section, qtbot, name: str):
    qtbot.waitUntil(lambda: name in section.cards and section.cards[name].isVisible(),
                    timeout=WAIT_MS)
    section.cards[name].download.click()
    qtbot.waitUntil(lambda: section.cards[name].row.installed
                    and section.cards[name].use.isVisibleTo(section), timeout=WAIT_MS)
    return section.cards[name]


def test_using_a_downloaded_embedder_rebuilds_while_search_goes_on(window, app, hub, qtbot,
                                                                   tmp_path, store):
    core = app.core
    write_notes(tmp_path / "notes")
    core.knowledge.index(tmp_path / "notes")
    core.memory.remember("My cat is called Ziggy and she hates the vacuum cleaner")
    list(core.chat.ask(core.chat.new_session(), "How do I bleed a radiator?"))
    serve(hub, EMBEDDER, write_tiny_embedder(tmp_path / "tiny.gguf").read_bytes())
    window.show_panel("models")
    section = window.panel("models").retrieval
    qtbot.waitUntil(lambda: "Search uses: all-MiniLM-L6-v2" in section.in_use_line.text(),
                    timeout=WAIT_MS)
    assert section.cards["builtin"].title.text().endswith("In use")
    facts = section.cards[EMBEDDER].facts.text()
    assert "37 MB" in facts and "mit" in facts and "en" in facts and "384 dimensions" in facts
    card = download(section, qtbot, EMBEDDER)

    hold = RebuildHold(core.scheduler)
    try:
        card.use.click()
        qtbot.waitUntil(hold.reached.is_set, timeout=WAIT_MS)
        # Half-way: the page and the status bar show how far, and search uses the old index.
        qtbot.waitUntil(lambda: f"/{NOTES} passages" in section.rebuild_line.text(),
                        timeout=WAIT_MS)
        assert section.rebuild_line.text().startswith(f"Rebuilding the index for {EMBEDDER}")
        assert section.rebuild_bar.isVisibleTo(section) and section.stop_rebuild.isVisibleTo(
            section)
        qtbot.waitUntil(lambda: f"/{NOTES} passages" in window.status_text.text(),
                        timeout=WAIT_MS)
        results = searched(app, qtbot, "thermocouple pilot flame")
        assert results and "thermocouple" in results[0].text  # MiniLM's meaning, not noise
        assert store.get_meta("embedder") == EMBEDDER_NAME
        assert vector_lengths(store, "chunks") == {384}
        qtbot.waitUntil(lambda: "Rebuilding" in section.cards[EMBEDDER].title.text(),
                        timeout=WAIT_MS)
    finally:
        hold.release()

    qtbot.waitUntil(lambda: f"Search uses: {EMBEDDER}" in section.in_use_line.text(),
                    timeout=WAIT_MS)
    assert not core.knowledge.rebuild_jobs() and not section.rebuild_line.isVisibleTo(section)
    assert section.cards[EMBEDDER].title.text().endswith("In use")
    assert section.cards["builtin"].use.isVisibleTo(section)  # switching back is offered
    qtbot.waitUntil(lambda: "passages" not in window.status_text.text(), timeout=WAIT_MS)
    # Swapped: its name in the meta, vectors of its length, and search embeds with it.
    assert store.get_meta("embedder") == EMBEDDER and store.vector_dim == 32
    for table in ("chunks", "memories", "messages"):
        assert vector_lengths(store, table) == {32}, table
    assert core.parts.embedder.name == EMBEDDER and core.parts.embedder.dim == 32
    assert any(r.path.endswith("note-042.txt") for r in searched(app, qtbot, "42"))
    assert core.memory.search("Ziggy")[0].text.startswith("My cat")
    assert any(hit.text == "How do I bleed a radiator?" for hit in core.chat.search("radiator"))


def test_a_downloaded_reranker_is_used_to_rerank_and_dropped(window, app, hub, qtbot, tmp_path,
                                                              styled):
    window.resize(965, 570)  # the window's smallest size: every button and line still fits
    core = app.core
    write_notes(tmp_path / "notes", 12)
    core.knowledge.index(tmp_path / "notes")
    serve(hub, RERANKER, write_tiny_reranker(tmp_path / "rerank.gguf").read_bytes())
    window.show_panel("models")
    section = window.panel("models").retrieval
    card = download(section, qtbot, RERANKER)
    assert not section.no_reranker.isVisibleTo(section)
    card.use.click()
    qtbot.waitUntil(lambda: "Reranker: Jina Reranker" in section.in_use_line.text(),
                    timeout=WAIT_MS)
    assert core.current_settings.knowledge.reranker == RERANKER
    assert section.no_reranker.isVisibleTo(section) and not section.cards[
        RERANKER].use.isVisibleTo(section)
    qtbot.wait(50)
    assert cut_texts(section) == []
    assert any(r.rerank_score is not None for r in searched(app, qtbot, "radiator pump"))
    section.no_reranker.click()
    qtbot.waitUntil(lambda: "Reranker: none" in section.in_use_line.text(), timeout=WAIT_MS)
    assert core.current_settings.knowledge.reranker == ""
    assert all(r.rerank_score is None for r in searched(app, qtbot, "radiator pump"))


def test_a_stopped_rebuild_says_so_and_goes_on_when_used_again(window, app, hub, qtbot,
                                                               tmp_path, store):
    core = app.core
    write_notes(tmp_path / "notes")
    core.knowledge.index(tmp_path / "notes")
    serve(hub, EMBEDDER, write_tiny_embedder(tmp_path / "tiny.gguf").read_bytes())
    window.show_panel("models")
    section = window.panel("models").retrieval
    card = download(section, qtbot, EMBEDDER)
    hold = RebuildHold(core.scheduler)
    try:
        card.use.click()
        qtbot.waitUntil(lambda: section.stop_rebuild.isVisibleTo(section)
                        and hold.reached.is_set(), timeout=WAIT_MS)
        section.stop_rebuild.click()
        qtbot.waitUntil(lambda: all(job.control.cancelled
                                    for job in core.knowledge.rebuild_jobs()), timeout=WAIT_MS)
    finally:
        hold.release()
    qtbot.waitUntil(lambda: "rebuild is stopped" in section.cards[EMBEDDER].title.text(),
                    timeout=WAIT_MS)
    assert not section.rebuild_line.isVisibleTo(section)
    assert store.get_meta("embedder") == EMBEDDER_NAME  # the old index goes on answering
    assert "Search uses: all-MiniLM-L6-v2" in section.in_use_line.text()
    section.cards[EMBEDDER].use.click()  # goes on from the passages it had embedded
    qtbot.waitUntil(lambda: section.cards[EMBEDDER].title.text().endswith("In use"),
                    timeout=WAIT_MS)
    assert store.get_meta("embedder") == EMBEDDER
    assert core.parts.embedder.calls == NOTES - hold.progress.chunks_done  # only the rest


def pick(monkeypatch, path) -> None:
    """The modal file picker answers with ``path``."""
    from ui.panels import retrieval

    monkeypatch.setattr(retrieval.QFileDialog, "getOpenFileName",
                        lambda *args, **kwargs: (str(path), "GGUF models (*.gguf)"))


def test_a_reranker_file_of_ones_own_is_used_from_the_page(window, app, qtbot, tmp_path,
                                                           monkeypatch):
    core = app.core
    write_notes(tmp_path / "notes", 12)
    core.knowledge.index(tmp_path / "notes")
    mine = write_tiny_reranker(tmp_path / "my reranker.gguf")
    window.show_panel("models")
    section = window.panel("models").retrieval
    qtbot.waitUntil(lambda: "Reranker: none" in section.in_use_line.text(), timeout=WAIT_MS)
    pick(monkeypatch, mine)
    section.reranker_file.click()
    qtbot.waitUntil(lambda: "Reranker: my reranker.gguf" in section.in_use_line.text(),
                    timeout=WAIT_MS)
    assert core.current_settings.knowledge.reranker == str(mine)
    assert section.in_use_line.toolTip() == str(mine)
    assert section.no_reranker.isVisibleTo(section)
    assert any(r.rerank_score is not None for r in searched(app, qtbot, "radiator pump"))


def test_a_file_that_is_no_embedder_says_why_and_search_is_left_alone(window, app, qtbot,
                                                                      tmp_path, monkeypatch,
                                                                      errors, store):
    core = app.core
    write_notes(tmp_path / "notes", 12)
    core.knowledge.index(tmp_path / "notes")
    window.show_panel("models")
    section = window.panel("models").retrieval
    qtbot.waitUntil(lambda: "Search uses: all-MiniLM-L6-v2" in section.in_use_line.text(),
                    timeout=WAIT_MS)
    for wrong in (write_tiny_reranker(tmp_path / "a reranker.gguf"),
                  tmp_path / "notes" / "note-001.txt"):
        before = len(errors)
        pick(monkeypatch, wrong)
        section.embedder_file.click()
        qtbot.waitUntil(lambda before=before: len(errors) > before, timeout=WAIT_MS)
        assert wrong.name in errors[-1], errors[-1]
        assert core.current_settings.knowledge.embedder == ""
        assert not core.knowledge.rebuild_jobs()
        assert store.get_meta("embedder") == EMBEDDER_NAME
    assert "Search uses: all-MiniLM-L6-v2" in section.in_use_line.text()
