"""Marked chat answers as training pairs: read from the chats when training starts, a rewrite
used instead of the answer, and a deleted chat's examples left out."""

from __future__ import annotations

import pytest

from assistant.chat.conversations import ChatMessage, ChatSession, Conversations
from assistant.paths import app_paths
from assistant.training.chat_examples import ChatExamples
from assistant.training.job import LoraSettings
from assistant.training.teach import TeachSource, prepare

pytestmark = pytest.mark.slow  # the real embedder stores the messages


def test_marked_answers_become_pairs_with_their_message_ids(store, embedder, tiny_model_path):
    conversations = Conversations(store, embedder)
    paths = app_paths().ensure()
    examples = ChatExamples.in_data_dir(paths.data_dir)
    sessions = []
    for i in range(7):
        session = ChatSession(title=f"chat {i}")
        conversations.append(session, ChatMessage("user", f"the cat {i}"))
        answer = ChatMessage("assistant", f"the dog {i}")
        conversations.append(session, answer)
        examples.mark(session.id, answer.id, rewrite="hello world" if i == 0 else "")
        sessions.append((session, answer))
    conversations.delete(sessions[6][0].id)
    examples.unmark(sessions[5][1].id)
    data = prepare(TeachSource("chats"), tiny_model_path, LoraSettings(max_tokens=96),
                   paths=paths, conversations=lambda: conversations)
    assert data.counts()["examples"] == 5
    source = data.sources[0]
    assert source.kind == "chat" and set(source.message_ids) == {a.id for _, a in sessions[:5]}
    texts = {e.origin: e.text for e in data.examples}
    assert texts[f"chat:{sessions[0][0].id}/{sessions[0][1].id}"] == "the cat 0\n→ hello world"
    assert texts[f"chat:{sessions[1][0].id}/{sessions[1][1].id}"] == "the cat 1\n→ the dog 1"
    assert any("is gone" in note for note in data.notes)
