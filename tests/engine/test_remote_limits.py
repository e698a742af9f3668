"""Servers that never finish: each answer ends at its limit with a message naming it, and Stop
works at any moment. Issue 26: against such servers ``loremind ask --engine URL`` still ran
after 90 s. The servers are small local HTTP servers (tests/engine/remote_support.py)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from assistant.config import RemoteSettings
from assistant.defaults import embedded_chat_model
from assistant.engine import SamplingParams
from assistant.engine.remote import RemoteModel
from assistant.errors import RemoteEngineError
from tests.engine.remote_support import HostileServer

QUESTION = [{"role": "user", "content": "Hello?"}]
SLACK_S = 2.5  # a limit may be overrun by the watch's tick, a shared machine's delays


@pytest.fixture
def hostile(request):
    server = HostileServer(request.param)
    yield server
    server.stop()


def connect(url: str, **limits: float) -> RemoteModel:
    return RemoteModel.connect(RemoteSettings(base_url=url, context_size=512,
                                              local_copy=str(embedded_chat_model()), **limits))


def answer(model: RemoteModel, cancel: threading.Event | None = None) -> tuple[str, str]:
    stream = model.stream_chat(QUESTION, SamplingParams.greedy(16), cancel=cancel)
    return stream.read(), stream.stats.finish_reason


CASES = {
    "forever": ({"answer_timeout_s": 2}, "took longer than 2 s (answer_timeout_s"),
    "pings": ({"timeout_s": 2}, "did not answer within 2 s (timeout_s"),
    "tokens-then-pings": ({"idle_timeout_s": 2}, "sent nothing for 2 s .* (idle_timeout_s"),
    "trickle": ({"timeout_s": 2}, "did not answer within 2 s (timeout_s"),
    "trickle-headers": ({"timeout_s": 2}, "did not answer within 2 s (timeout_s"),
    "silent": ({"timeout_s": 2, "idle_timeout_s": 2}, "did not answer within 2 s (timeout_s"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("hostile", list(CASES), indirect=True)
def test_an_answer_ends_at_its_limit_with_the_limit_named(hostile):
    limits, message = CASES[hostile.behaviour]
    model = connect(hostile.url, **limits)
    try:
        started = time.monotonic()
        with pytest.raises(RemoteEngineError, match=message.replace("(", r"\(")):
            answer(model)
        assert time.monotonic() - started < 2 + SLACK_S
    finally:
        model.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("hostile", ["slow-models"], indirect=True)
def test_a_model_list_that_trickles_ends_at_the_reply_limit(hostile):
    started = time.monotonic()
    with pytest.raises(RemoteEngineError, match=r"did not answer within 2 s \(timeout_s"):
        connect(hostile.url, timeout_s=2)
    assert time.monotonic() - started < 2 + SLACK_S


@pytest.mark.timeout(60)
@pytest.mark.parametrize("hostile", ["pings", "silent", "trickle-headers", "forever"],
                         indirect=True)
def test_stop_ends_the_answer_at_once_whatever_the_server_does(hostile):
    model = connect(hostile.url)  # default limits: minutes
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    try:
        started = time.monotonic()
        _, reason = answer(model, cancel)
        assert reason == "cancelled"
        assert time.monotonic() - started < 0.5 + SLACK_S
    finally:
        model.close()


@pytest.mark.timeout(60)
def test_a_server_that_never_accepts_ends_at_the_connect_limit():
    # A listening socket that never accepts: once its backlog is full, connecting hangs.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            started = time.monotonic()
            with pytest.raises(RemoteEngineError, match=r"within 0.5 s \(connect_timeout_s"):
                connect(f"http://127.0.0.1:{port}/v1", connect_timeout_s=0.5)
            assert time.monotonic() - started < 0.5 + SLACK_S
        finally:
            for filler in fillers:
                filler.close()
