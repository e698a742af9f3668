"""RemoteModel against llama-cpp-python's own OpenAI-compatible server, running the embedded
model."""

from __future__ import annotations

import threading

import keyring
import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.config import RemoteSettings
from assistant.defaults import embedded_chat_model
from assistant.engine import SamplingParams
from assistant.engine.protocol import ChatEngine
from assistant.engine.remote import RemoteModel
from assistant.engine.remote_http import server_root
from assistant.errors import ContextOverflowError, RemoteEngineError
from assistant.secrets import api_key_name
from tests.engine.remote_support import LlamaServer, MemoryKeyring

pytestmark = pytest.mark.slow
N_CTX = 2048
QUESTION = [{"role": "system", "content": "You are a helpful assistant. Answer concisely."},
            {"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def server():
    running = LlamaServer(embedded_chat_model(), n_ctx=N_CTX)
    yield running
    running.stop()


@pytest.fixture
def remote(server):
    model = RemoteModel.connect(RemoteSettings(base_url=server.url, context_size=N_CTX))
    yield model
    model.close()


def test_remote_model_is_a_chat_engine(remote, embedded_model):
    assert isinstance(remote, ChatEngine)
    assert isinstance(embedded_model, ChatEngine)
    assert remote.engine_label.startswith("http://127.0.0.1:")
    assert remote.n_ctx == N_CTX


def test_greedy_answer_streams_and_equals_the_local_engine(remote, embedded_model):
    params = SamplingParams.greedy(40)
    embedded_model.drop_cache()
    local = embedded_model.stream_chat(QUESTION, params).read()
    stream = remote.stream_chat(QUESTION, params)
    pieces = list(stream)
    assert len(pieces) > 5, "the answer arrives in pieces, not at once"
    assert stream.text == local
    assert stream.stats.finish_reason in ("stop", "length")
    assert stream.stats.ttft_s > 0
    assert stream.stats.completion_tokens == len(pieces)


def test_token_counts_are_never_below_the_servers(remote, embedded_model):
    """Without a local copy the count comes from the server's tokenizer plus the template cost
    measured from its usage reports: never fewer than the server counts."""
    chats = [
        QUESTION,
        [*QUESTION, {"role": "assistant", "content": "Paris."},
         {"role": "user", "content": "And of Germany? Answer with one word, please."}],
        [{"role": "system", "content": "Numbered sources follow [1] (notes.md, Budget)\n" * 20},
         {"role": "user", "content": "Résumé: naïve café, 東京 and emoji 🎉 in one line."}],
    ]
    for chat in chats:
        reply = remote.client.post_json("/v1/chat/completions", {
            "messages": chat, "max_tokens": 1, "temperature": 0})
        served = reply["usage"]["prompt_tokens"]
        counted = remote.count_tokens(chat)
        assert served <= counted <= served + 2 * len(chat) + 2
        assert embedded_model.count_tokens(chat) == served, "the same template both sides"
    assert remote.counter.method == "server tokenizer"


def test_a_local_copy_counts_exactly(server, embedded_model):
    model = RemoteModel.connect(RemoteSettings(base_url=server.url, context_size=N_CTX,
                                               local_copy=str(embedded_chat_model())))
    try:
        assert model.count_tokens(QUESTION) == embedded_model.count_tokens(QUESTION)
        assert model.counter.method == "local copy"
    finally:
        model.close()


def test_a_prompt_beyond_the_context_is_refused_before_sending(remote):
    long = [{"role": "user", "content": "lighthouse keeper " * 2000}]
    with pytest.raises(ContextOverflowError) as caught:
        remote.stream_chat(long, SamplingParams.greedy(8))
    assert caught.value.available == N_CTX


def test_cancel_stops_the_answer_and_the_server_serves_the_next(remote):
    cancel = threading.Event()
    stream = remote.stream_chat([{"role": "user", "content": "Tell me a long story."}],
                                SamplingParams.greedy(400), cancel=cancel)
    for n, _ in enumerate(stream):
        if n == 3:
            cancel.set()
    assert stream.stats.finish_reason == "cancelled"
    assert stream.stats.completion_tokens <= 5
    again = remote.stream_chat(QUESTION, SamplingParams.greedy(8)).read()
    assert again.strip()


def test_json_output_follows_the_schema(remote):
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}},
              "required": ["city"]}
    import json

    out = json.loads(remote.generate_json(QUESTION, schema, max_tokens=40))
    assert isinstance(out["city"], str)


def test_settings_must_state_the_context_llama_cpp_server_does_not_report(server):
    with pytest.raises(RemoteEngineError, match="context_size"):
        RemoteModel.connect(RemoteSettings(base_url=server.url))


def test_unknown_model_name_lists_what_the_server_has(server):
    with pytest.raises(RemoteEngineError, match="no model 'gpt-9'; it serves"):
        RemoteModel.connect(RemoteSettings(base_url=server.url, model="gpt-9",
                                           context_size=N_CTX))


def test_api_key_comes_from_the_keyring():
    secured = LlamaServer(embedded_chat_model(), n_ctx=512, api_key="s3cret")
    try:
        settings = RemoteSettings(base_url=secured.url, context_size=512)
        with pytest.raises(RemoteEngineError, match=r"refused the request \(401.*remote key"):
            RemoteModel.connect(settings)
        result = CliRunner().invoke(main, ["remote", "key", secured.url, "--api-key", "s3cret"])
        assert result.exit_code == 0, result.output
        assert keyring.get_password("loremind", api_key_name(server_root(secured.url)))
        model = RemoteModel.connect(settings)
        assert model.stream_chat(QUESTION, SamplingParams.greedy(4)).read()
        model.close()
    finally:
        secured.stop()


def test_server_killed_mid_answer_is_reported_then_unreachable():
    doomed = LlamaServer(embedded_chat_model(), n_ctx=1024)
    model = RemoteModel.connect(RemoteSettings(base_url=doomed.url, context_size=1024))
    try:
        stream = model.stream_chat([{"role": "user", "content": "Tell me a long story."}],
                                   SamplingParams.greedy(400))
        got = []
        with pytest.raises(RemoteEngineError, match="mid-answer|without finishing") as caught:
            for piece in stream:
                got.append(piece)
                if len(got) == 3:
                    doomed.stop()
        assert "not kept" in str(caught.value)
        with pytest.raises(RemoteEngineError, match="Cannot reach the server"):
            model.stream_chat(QUESTION, SamplingParams.greedy(4)).read()
    finally:
        model.close()
        doomed.stop()
