"""Hybrid search: meaning finds a differently-worded question, words find an exact error code."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.knowledge import search_knowledge
from assistant.store import CHUNKS
from tests.knowledge.helpers import make_pdf

DOCUMENTS = {
    "printer.md": "# Printer care\n\nWhen pages are blank, replace the toner cartridge and "
                  "clean the drum with a dry cloth.",
    "sync.txt": "Error ZX-4417: the sync service lost its connection to the server. "
                "Check the network settings and try again.",
    # Codes with the same digits: an embedding barely tells them apart, full text does.
    "quota.txt": "Error ZX-4471: the disk quota is exceeded on the shared drive. "
                 "Delete old files and try again.",
    "license.txt": "Error ZX-7144: the license key has expired. Renew the subscription.",
    "battery.txt": "Error ZX-1447: the battery is too cold to charge. Warm the device to "
                   "room temperature.",
    "tray.txt": "Error ZX-4714: the printer tray is empty. Load paper and try again.",
    "bread.md": "# Baking\n\nKnead the dough for ten minutes, let it rise, then bake it hot.",
    "garden.html": "<html><body><nav>Menu</nav><main><h1>Roses</h1><p>Prune roses in late "
                   "winter and water them deeply in summer.</p></main></body></html>",
}
SEMANTIC = "my printouts have no ink on them"
KEYWORD = "ZX-4417"


@pytest.fixture
def indexed(indexer, store, docs):
    for name, text in DOCUMENTS.items():
        (docs / name).write_text(text)
    (docs / "manual.pdf").write_bytes(make_pdf(["Safety instructions.",
                                                "The fan turns on above 70 degrees."]))
    indexer.sync(docs)
    return docs


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def test_semantic_question_and_exact_code_both_hit(indexed, store, embedder):
    assert _name(search_knowledge(store, embedder, SEMANTIC, k=3)[0].path) == "printer.md"
    hit = search_knowledge(store, embedder, KEYWORD, k=3)[0]
    assert _name(hit.path) == "sync.txt" and "ZX-4417" in hit.snippet
    # Both halves are needed: words alone miss the question, meaning alone misses the code.
    by_words = store.search_text(CHUNKS.name, SEMANTIC, 3, columns=["path"])
    assert "printer.md" not in [_name(r["path"]) for r in by_words[:1]]
    by_meaning = store.search_vector(CHUNKS.name, embedder.encode_query(KEYWORD), 3,
                                     columns=["path"])
    assert _name(by_meaning[0]["path"]) != "sync.txt"


def test_results_cite_page_and_heading_and_filter(indexed, store, embedder):
    pdf_hit = search_knowledge(store, embedder, "when does the fan start", k=1, types=["pdf"])[0]
    assert _name(pdf_hit.path) == "manual.pdf" and pdf_hit.page == 2
    html_hit = search_knowledge(store, embedder, "pruning roses", k=1)[0]
    assert html_hit.heading == "Roses" and "Menu" not in html_hit.text
    only_md = search_knowledge(store, embedder, KEYWORD, k=5, types=["md"])
    assert only_md and all(r.path.endswith(".md") for r in only_md)
    (indexed / "other").mkdir()
    assert search_knowledge(store, embedder, KEYWORD, k=5, folders=[indexed / "other"]) == []
    assert search_knowledge(store, embedder, KEYWORD, k=5, folders=[indexed])
    # A folder under a user who does not exist is a folder with nothing in it, not a crash.
    assert search_knowledge(store, embedder, KEYWORD, k=5,
                            folders=[Path("~nosuchuser-here/docs")]) == []
