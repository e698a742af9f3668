"""Error shapes llama_cpp.server cannot be made to produce on demand (429 with Retry-After, 500s,
a malformed chunk, a stream that stops before [DONE]), from a stub server on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from assistant.config import RemoteSettings
from assistant.defaults import embedded_chat_model
from assistant.engine import SamplingParams
from assistant.engine.remote import RemoteModel
from assistant.engine.remote_http import _retry_after
from assistant.errors import RemoteEngineError
from tests.engine.remote_support import StubServer, delta, free_port, send_events, send_json

QUESTION = [{"role": "user", "content": "Hello?"}]
GOOD = [delta("Hel"), delta("lo"), delta("!", "stop")]


@pytest.fixture(scope="module")
def shared_stub():
    server = StubServer()
    yield server
    server.stop()


@pytest.fixture
def stub(shared_stub):
    shared_stub.requests.clear()
    shared_stub.replies.clear()
    return shared_stub


@pytest.fixture(scope="module")
def model(shared_stub):
    # The local copy counts tokens here, so the stub answers only the requests under test.
    remote = RemoteModel.connect(RemoteSettings(base_url=shared_stub.url, context_size=512,
                                                local_copy=str(embedded_chat_model())))
    yield remote
    remote.close()


def reply_status(status, headers=None):
    return lambda h, body: send_json(h, status, {"error": {"message": f"status {status}"}},
                                     headers)


def reply_events(chunks, done=True):
    return lambda h, body: send_events(h, chunks, done)


def ask(model):
    return model.stream_chat(QUESTION, SamplingParams.greedy(16)).read()


def test_429_waits_for_retry_after_then_answers(stub, model):
    stub.replies = [reply_status(429, {"Retry-After": "1"}), reply_events(GOOD)]
    started = time.monotonic()
    assert ask(model) == "Hello!"
    assert time.monotonic() - started >= 0.9, "it waited as the server asked"
    assert len(stub.requests) == 2


def test_429_with_a_long_wait_is_reported_not_waited_for(stub, model):
    stub.replies = [reply_status(429, {"Retry-After": "3600"})]
    started = time.monotonic()
    with pytest.raises(RemoteEngineError, match=r"busy \(429.*wait 3600 s"):
        ask(model)
    assert time.monotonic() - started < 5


def test_a_500_is_retried_and_the_answer_arrives(stub, model):
    stub.replies = [reply_status(500), reply_status(503), reply_events(GOOD)]
    assert ask(model) == "Hello!"
    assert len(stub.requests) == 3


def test_500s_that_persist_say_so(stub, model):
    stub.replies = [reply_status(500)] * 4
    with pytest.raises(RemoteEngineError, match=r"failed \(500: status 500\), also when asked"):
        ask(model)
    assert len(stub.requests) == 4


def test_a_400_is_not_retried(stub, model):
    stub.replies = [reply_status(400), reply_events(GOOD)]
    with pytest.raises(RemoteEngineError, match=r"rejected the request \(400"):
        ask(model)
    assert len(stub.requests) == 1


def test_a_malformed_chunk_is_reported(stub, model):
    stub.replies = [reply_events([delta("Hel"), "{not json"])]
    with pytest.raises(RemoteEngineError, match="malformed chunk"):
        ask(model)


def test_a_stream_that_stops_before_done_is_reported(stub, model):
    stub.replies = [reply_events([delta("Hel"), delta("lo")], done=False)]
    with pytest.raises(RemoteEngineError, match="without finishing it"):
        ask(model)
    assert len(stub.requests) == 1, "tokens had arrived: never retried"


def test_an_error_event_mid_stream_is_reported(stub, model):
    stub.replies = [reply_events([delta("Hel"), '{"error": {"message": "slot crashed"}}'])]
    with pytest.raises(RemoteEngineError, match="failed mid-answer: slot crashed"):
        ask(model)


def test_context_overflow_from_the_server_is_a_context_error(stub, model):
    from assistant.errors import ContextOverflowError

    message = ("This model's maximum context length is 512 tokens. However, you requested "
               "530 tokens (514 in the messages, 16 in the completion).")
    stub.replies = [lambda h, body: send_json(h, 400, {"error": {"message": message}})]
    with pytest.raises(ContextOverflowError) as caught:
        ask(model)
    assert (caught.value.needed, caught.value.available) == (530, 512)


def test_unreachable_server_is_reported_after_retries():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(RemoteEngineError, match="Cannot reach the server at http://127"):
        RemoteModel.connect(RemoteSettings(base_url=url, context_size=512))


def test_a_base_url_that_is_not_a_url():
    with pytest.raises(RemoteEngineError, match="not a server address"):
        RemoteModel.connect(RemoteSettings(base_url="gpu-box:8080", context_size=512))


def test_retry_after_reads_seconds_and_dates():
    assert _retry_after("2") == 2.0
    assert _retry_after(None) is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 <= (_retry_after(future) or 0) <= 61
