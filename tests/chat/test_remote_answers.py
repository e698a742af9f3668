"""The facade unchanged on a remote engine: llama_cpp.server running the embedded model answers,
streams, cites and uses memories exactly like the local engine; a server that dies mid-answer
leaves no half answer in the chat."""

from __future__ import annotations

import json

import keyring
import pytest
from click.testing import CliRunner

from assistant.chat.answering import AskOptions
from assistant.chat.events import Done, Failed, MemoriesUsed, MemoryProposed, Sources, Token
from assistant.cli import main
from assistant.config import KnowledgeSettings, RemoteSettings, Settings, save_settings
from assistant.core import Loremind
from assistant.defaults import embedded_chat_model
from assistant.engine import SamplingParams
from assistant.engine.remote import RemoteModel
from assistant.knowledge.indexer import Indexer
from assistant.memory.extraction import extract_candidates
from assistant.paths import app_paths
from tests.engine.remote_support import LlamaServer, MemoryKeyring

pytestmark = pytest.mark.slow
N_CTX = 2048
GREEDY = SamplingParams.greedy(32)


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def server():
    running = LlamaServer(embedded_chat_model(), n_ctx=N_CTX)
    yield running
    running.stop()


@pytest.fixture
def library(tmp_path, store, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ferry.md").write_text("# Ferry\n\nThe ferry to Stavanger leaves at 07:40 from "
                                   "pier 3. Tickets are sold on board.")
    Indexer(store, embedder, KnowledgeSettings()).sync(docs)
    return docs


def answer(assistant, question):
    session = assistant.chat.new_session()
    events = list(assistant.chat.ask(session, question, AskOptions(sampling=GREEDY)))
    assert isinstance(events[-1], Done), events[-1]
    return session, events


def of(kind, events):
    return [e for e in events if isinstance(e, kind)]


def test_remote_answers_cite_and_remember_like_the_local_engine(server, embedded_model,
                                                                embedder, store, library):
    remote = RemoteModel.connect(RemoteSettings(base_url=server.url, context_size=N_CTX))
    embedded_model.drop_cache()
    local = Loremind(app_paths(), Settings(), model=embedded_model, embedder=embedder,
                      store=store)
    served = Loremind(app_paths(), Settings(), model=remote, embedder=embedder, store=store)
    local.parts.memory.remember("I prefer answers in metric units.")
    try:
        for question in ["When does the ferry to Stavanger leave?",
                         "My name is Ada and I work as a nurse."]:
            _, mine = answer(local, question)
            session, theirs = answer(served, question)
            assert [c.to_json() for c in of(Sources, theirs)[0].citations] == \
                [c.to_json() for c in of(Sources, mine)[0].citations]
            assert [m.id for m in of(MemoriesUsed, theirs)[0].memories] == \
                [m.id for m in of(MemoriesUsed, mine)[0].memories]
            assert "".join(t.text for t in of(Token, theirs)) == \
                "".join(t.text for t in of(Token, mine))
            assert len(of(Token, theirs)) > 3, "streamed in pieces"
            done = theirs[-1]
            assert done.stats.engine == remote.engine_label and mine[-1].stats.engine == "local"
            assert done.stats.prompt_tokens >= mine[-1].stats.prompt_tokens
            stored = served.parts.conversations.get(session.id)
            assert [m.role for m in stored.messages] == ["user", "assistant"]
            assert stored.model == remote.model_id
            if "ferry" in question:
                assert of(Sources, theirs)[0].citations, "the document was cited"
        # Memories are proposed through the server's JSON grammar as through the local one
        # (greedy both, but the server reuses its cached prefix, so later items may differ).
        assert [p.memory.text for p in of(MemoryProposed, mine)] == ["I am a nurse"]
        assert "I am a nurse" in extract_candidates(remote, "My name is Ada and I work as a "
                                                            "nurse.")
    finally:
        remote.close()


def test_server_dying_mid_answer_fails_and_stores_no_half_answer(embedder, store):
    doomed = LlamaServer(embedded_chat_model(), n_ctx=1024)
    remote = RemoteModel.connect(RemoteSettings(base_url=doomed.url, context_size=1024))
    served = Loremind(app_paths(), Settings(), model=remote, embedder=embedder, store=store)
    try:
        session = served.chat.new_session()
        events = []
        for event in served.chat.ask(session, "Tell me a long story about a lighthouse.",
                                AskOptions(sampling=SamplingParams.greedy(400))):
            events.append(event)
            if len(of(Token, events)) == 3:
                doomed.stop()
        assert isinstance(events[-1], Failed)
        assert "not kept" in events[-1].message
        stored = served.parts.conversations.get(session.id)
        assert [m.role for m in stored.messages] == ["user"], "no half answer saved"
        assert [m.role for m in session.messages] == ["user"]
    finally:
        remote.close()
        doomed.stop()


def test_ask_with_engine_url_answers_from_the_server(server, embedded_model, embedder,
                                                     monkeypatch):
    monkeypatch.setattr("assistant.knowledge.embedder.Embedder", lambda: embedder)
    save_settings(Settings(), app_paths().ensure().config_file)
    settings = Settings()
    settings.model.remote.context_size = N_CTX
    settings.generation.temperature = 0.0
    settings.generation.top_k = 1
    settings.generation.repeat_penalty = 1.0
    settings.generation.min_p = 0.0
    settings.generation.top_p = 1.0
    settings.generation.max_tokens = 24
    save_settings(settings, app_paths().config_file)
    question = "What is the capital of France?"
    result = CliRunner().invoke(main, ["ask", "--engine", server.url, "--json", "--no-knowledge",
                                       "--temporary", question])
    assert result.exit_code == 0, result.output
    reply = json.loads(result.stdout)
    assert reply["engine"] == server.url.removesuffix("/v1")
    assert reply["model"].startswith(server.url)
    embedded_model.drop_cache()
    local = CliRunner().invoke(main, ["ask", "--model", str(embedded_chat_model()), "--json",
                                      "--no-knowledge", "--temporary", question])
    assert local.exit_code == 0, local.output
    assert json.loads(local.stdout)["text"] == reply["text"]
