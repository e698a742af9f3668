"""What the walk through the app found in answers' text: line breaks kept, source passages cut
at a word, and the engine kept with an answer's stats."""

from __future__ import annotations

import json

import pytest

from assistant.chat.events import AnswerStats, Done
from assistant.chat.rendering import LINE_SEPARATOR, keep_line_breaks, snippet_preview
from assistant.chat.versions import stats_record
from assistant.config import Settings
from assistant.core import Loremind
from assistant.paths import app_paths

LS = LINE_SEPARATOR


def test_a_poems_lines_are_kept_and_its_stanzas_stay_paragraphs():
    poem = "Roses are red,\nviolets are blue.\n\nSugar is sweet,\nand so are you."
    assert keep_line_breaks(poem) == (f"Roses are red,{LS}violets are blue.\n\n"
                                      f"Sugar is sweet,{LS}and so are you.")


def test_hard_breaks_already_written_become_the_same_line_break():
    assert keep_line_breaks("one  \ntwo\\\nthree") == f"one{LS}two{LS}three"
    assert keep_line_breaks("an escaped backslash \\\\\nnext") == \
        f"an escaped backslash \\\\{LS}next"


@pytest.mark.parametrize("markdown", [
    "Intro\n\n```python\nx = 1\ny = 2\n```\nAfter",  # fenced code, and the line before it
    "Intro\n\n    code line one\n    code line two\n\nText",  # indented code
    "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |",  # a table
    "a | b\n--|--\n1 | 2",  # a table without outer pipes
    "# Heading\nText under it",  # an ATX heading ends on its line
    "Title\n=====\n\nSub\n---",  # setext headings
    "Items:\n- one\n- two\n1. first\n2) second",  # list items start blocks of their own
    "Text\n> quoted",  # a quote starts a block
    "Rule above\n***\nbelow",  # a thematic break
    "Line\n\nParagraph",  # a blank line already ends a paragraph
    "<div>\nhtml\n</div>",  # an HTML block
])
def test_blocks_keep_their_markdown(markdown):
    assert keep_line_breaks(markdown) == markdown


def test_lines_inside_list_items_and_quotes_are_kept_in_them():
    assert keep_line_breaks("- first line\n  second line\n- next item") == \
        f"- first line{LS}second line\n- next item"
    assert keep_line_breaks("> quoted one\n> quoted two\n\nafter") == \
        f"> quoted one{LS}quoted two\n\nafter"
    assert keep_line_breaks("> > deep\n> > deeper\n> shallower") == \
        f"> > deep{LS}deeper{LS}shallower"


def test_a_streaming_last_line_is_left_until_the_next_comes():
    assert keep_line_breaks("Roses are red,\n") == "Roses are red,\n"
    assert keep_line_breaks("Roses are red,\nvio") == f"Roses are red,{LS}vio"


def test_a_source_snippet_is_cut_at_a_word():
    passage = "To call a registry, open its page and copy the command. " * 8
    short, cut = snippet_preview(passage, limit=60)
    assert cut and short.endswith("…") and len(short) <= 61
    kept = short[:-1]
    flat = " ".join(passage.split())
    assert flat.startswith(kept) and flat[len(kept)] in " ,."  # a whole word, not "regis"
    assert snippet_preview("  Short\n passage ")[0] == "Short passage"
    assert snippet_preview("Short passage") == ("Short passage", False)
    assert snippet_preview("x" * 300, limit=10) == ("x" * 10 + "…", True)  # one long word


def test_stats_record_keeps_the_engine():
    stats = AnswerStats(prompt_tokens=5, completion_tokens=3, seconds=0.5)
    assert stats_record(stats, [], "local")["engine"] == "local"
    assert "engine" not in stats_record(stats, [])


@pytest.fixture
def assistant(tiny_model_path, embedder, store):
    from assistant.engine import LocalModel

    model = LocalModel.load(tiny_model_path, context_size=512)
    settings = Settings()
    settings.generation.max_tokens = 8
    yield Loremind(app_paths(), settings, model=model, embedder=embedder, store=store)
    model.close()


def test_an_answer_is_stored_with_the_engine_that_gave_it(assistant):
    from assistant.chat.tables import MESSAGES

    session = assistant.chat.new_session()
    events = list(assistant.chat.ask(session, "Hello"))
    done = events[-1]
    assert isinstance(done, Done) and done.stats.engine == "local"
    assert session.messages[-1].stats["engine"] == "local"
    rows = assistant.parts.store.rows(MESSAGES.name)
    stored = [json.loads(r["stats"]) for r in rows if r["id"] == done.message_id]
    assert stored and stored[0]["engine"] == "local"
