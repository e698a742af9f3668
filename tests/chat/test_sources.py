"""Which documents an answer cites: the chat uses the same search as ``loremind search``, and
a general question gets no sources, even when it shares a word with a document."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chat.answering import AskOptions
from assistant.chat.events import Sources
from assistant.config import Settings
from assistant.core import Loremind
from assistant.engine import SamplingParams
from assistant.knowledge import search_knowledge
from assistant.knowledge.indexer import Indexer
from assistant.paths import app_paths

pytestmark = pytest.mark.slow

DOCS = {
    "boiler.md": "# Boiler manual\n\n## Fault codes\n\nE27: the flame went out; open the gas "
                 "valve and press reset.\n\nE41: the pump is blocked; free the pump shaft.\n\n"
                 "## Water pressure\n\nTop up the water until the gauge shows 1.5 bar.\n",
    "garden.md": "# Garden notes\n\nTomatoes need six hours of sun and regular water. Feed "
                 "them with potash once the first flowers appear.\n",
}
# Each shares a word with the documents ("water", "sun", "pressure", "valve"): a words-only
# match used to make that document a source.
GENERAL = ["Tell me a joke about water", "Why is the sun yellow?",
           "How do I deal with peer pressure?", "What is the capital of France?",
           "Explain how a heart valve works"]


@pytest.fixture
def assistant(embedded_model, embedder, store, tmp_path: Path) -> Loremind:
    embedded_model.drop_cache()
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    Indexer(store, embedder).sync(folder)
    return Loremind(app_paths(), Settings(), model=embedded_model, embedder=embedder,
                     store=store)


def _sources(assistant: Loremind, question: str) -> list:
    events = assistant.chat.ask(assistant.chat.new_session(), question,
                           AskOptions(sampling=SamplingParams.greedy(4)))
    return next(e for e in events if isinstance(e, Sources)).citations


def test_general_questions_get_no_sources(assistant):
    for question in GENERAL:
        # The words search does find something: the filter, not an empty search, drops it.
        assert search_knowledge(assistant.parts.store, assistant.parts.embedder, question, k=5)
        assert _sources(assistant, question) == [], question


def test_a_document_question_cites_the_passage_with_its_heading(assistant):
    citations = _sources(assistant, "What does error code E27 mean?")
    assert citations and Path(citations[0].path).name == "boiler.md"
    assert citations[0].heading == "Boiler manual > Fault codes"
    assert "E27" in citations[0].text and citations[0].page == 0
