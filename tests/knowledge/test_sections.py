"""Retrieve small, cite the section: a hit is cited with its neighbours from the same section,
and hits next to each other are one passage (real embedder, real store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.knowledge import search_knowledge
from assistant.knowledge.sections import SECTION_WORDS

pytestmark = pytest.mark.slow

# Each paragraph is long enough (about 150 word pieces) to be a chunk of its own.
MATCHING = ("To descale the espresso machine, empty the water tank and the drip tray, then start "
            "the descaling programme from the service menu of the espresso machine. ") * 4
ANSWER = ("The solution for that programme is 500 ml of water with two sachets of citric acid; "
          "vinegar damages the seals and voids the guarantee. Rinse twice afterwards. ") * 4
OTHER_SECTION = ("Registered products are covered for three years from the date of purchase, "
                 "parts and labour included, when the receipt is kept. ") * 4


@pytest.fixture
def manual(indexer, docs: Path) -> Path:
    path = docs / "espresso.md"
    path.write_text(f"# Espresso machine\n\n## Descaling\n\n{MATCHING}\n\n{ANSWER}\n\n"
                    f"## Guarantee\n\n{OTHER_SECTION}\n")
    indexer.sync(docs)
    return path


def test_a_hit_is_cited_with_the_next_paragraph_of_its_section(manual, store, embedder):
    chunks = store.count("chunks")
    assert chunks >= 3, "the test needs the section split into several chunks"
    top = search_knowledge(store, embedder, "How do I descale the espresso machine?", k=3)[0]
    assert top.heading == "Espresso machine > Descaling"
    assert "two sachets of citric acid" in top.text  # from the neighbouring chunk
    assert "three years" not in top.text  # another section is never joined
    assert "descaling programme" in top.snippet  # the snippet shows what matched
    assert len(top.text.split()) <= SECTION_WORDS
    # Overlapping chunk edges appear once: the passage is the document's text, not a pile.
    sentence = "Rinse twice afterwards."
    assert top.text.count(sentence) == ANSWER.count(sentence)


def test_neighbouring_hits_are_one_result(manual, store, embedder):
    results = search_knowledge(store, embedder, "descaling citric acid espresso machine", k=5)
    descaling = [r for r in results if r.heading == "Espresso machine > Descaling"]
    assert len(descaling) == 1, [(r.heading, r.start, r.end) for r in results]
    assert any(r.heading == "Espresso machine > Guarantee" for r in results)
