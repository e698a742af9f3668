"""The chat footer says which engine answered."""

from __future__ import annotations

import pytest

from assistant.chat.events import AnswerStats

pytestmark = pytest.mark.gui


@pytest.mark.parametrize(("engine", "shown"), [("http://127.0.0.1:8080", "via http://127.0.0.1:8080"),
                                               ("local", "local engine")])
def test_answer_footer_names_the_engine(qtbot, engine, shown):
    from ui.message_widgets import AssistantMessage

    message = AssistantMessage([])
    qtbot.addWidget(message)
    message.finish("Paris.", AnswerStats(completion_tokens=2, seconds=0.5, engine=engine))
    assert shown in message.stats.text()
    assert message.stats.text().startswith("2 tokens")
