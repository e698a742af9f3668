"""The single-instance client: its private folder, the request format, and handing over."""

from __future__ import annotations

import os
import socket
import stat
import threading

import pytest

from assistant import instance
from assistant.errors import InstanceError
from assistant.instance import (
    REPLY_OK,
    Query,
    Request,
    encode_reply,
    hand_over,
    instance_running,
    query_app,
    read_message,
    socket_path,
)
from assistant.paths import app_paths


@pytest.fixture
def runtime(runtime_dir):
    """This test's XDG_RUNTIME_DIR (see tests/conftest.py)."""
    return runtime_dir


def serve_once(path, reply=REPLY_OK):
    """A plain Unix socket server that records one request line and sends ``reply``."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    received: list[bytes] = []

    def run():
        connection, _ = server.accept()
        with connection:
            data = b""
            while not data.endswith(b"\n"):
                data += connection.recv(1024)
            received.append(data)
            if reply is not None:
                connection.sendall(reply)
            else:
                threading.Event().wait(2)
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return received, thread


def test_runtime_folder_is_private(runtime):
    folder = instance.runtime_dir()
    assert folder == runtime / "loremind"
    info = folder.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()


def test_a_loose_runtime_folder_is_tightened(runtime):
    (runtime / "loremind").mkdir(mode=0o755)
    assert stat.S_IMODE(instance.runtime_dir().stat().st_mode) == 0o700


def test_without_a_runtime_dir_a_private_temp_folder_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    folder = instance.runtime_dir()
    assert folder == tmp_path / f"loremind-{os.getuid()}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_symlink_in_place_of_the_folder_is_refused(runtime, tmp_path):
    (runtime / "loremind").symlink_to(tmp_path)
    with pytest.raises(InstanceError, match="not a folder of yours"):
        instance.runtime_dir()


def test_each_data_folder_has_its_own_short_socket(runtime, tmp_path, monkeypatch):
    first = socket_path()
    monkeypatch.setenv("LOREMIND_HOME", str(tmp_path / "another"))
    second = socket_path(app_paths())
    assert first != second and first.parent == second.parent == runtime / "loremind"
    assert len(first.name) < 40  # AF_UNIX paths are limited to 108 bytes


def test_requests_round_trip_and_bad_lines_are_refused():
    request = Request("popup", "What is on the menu?")
    assert Request.decode(request.encode().strip()) == request
    assert Request.decode(b'{"action": "show"}') == Request("show")
    for bad in (b"not json", b'{"action": "format-disk"}', b"[1]", b"\xff"):
        with pytest.raises(InstanceError):
            Request.decode(bad)


def test_nothing_running_means_no_handover(runtime):
    assert hand_over(Request("show")) is False
    assert instance_running() is False


def test_a_stale_socket_file_means_no_handover(runtime):
    path = socket_path()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: a crashed instance
    assert path.exists()
    assert hand_over(Request("show"), path) is False


def test_hand_over_sends_one_line_and_waits_for_ok(runtime):
    path = socket_path()
    received, thread = serve_once(path)
    assert hand_over(Request("popup", "hello"), path) is True
    thread.join(5)
    assert Request.decode(received[0].strip()) == Request("popup", "hello")


def test_an_instance_that_does_not_answer_is_an_error(runtime):
    path = socket_path()
    _received, thread = serve_once(path, reply=None)
    with pytest.raises(InstanceError, match="did not answer"):
        hand_over(Request("show"), path, timeout=0.3)
    thread.join(5)


def test_queries_and_requests_are_told_apart():
    query = Query("search", {"query": "invoice", "k": 3, "folders": [], "types": []})
    assert read_message(query.encode().strip()) == query
    assert read_message(Request("popup", "hi").encode().strip()) == Request("popup", "hi")
    for bad in (b'{"action": "search"}', b'{"action": "ask", "args": [1]}', b"\xff"):
        with pytest.raises(InstanceError):
            read_message(bad)


def test_no_app_running_means_the_command_works_alone(runtime):
    query = Query("search", {"query": "x", "k": 1, "folders": [], "types": []})
    assert query_app(query) is None
    path = socket_path()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # a crashed app's socket
    assert query_app(query, path) is None


def test_an_app_that_does_not_know_queries_means_the_command_works_alone(runtime):
    path = socket_path()
    received, thread = serve_once(path, reply=b"refused\n")  # an app from before queries
    assert query_app(Query("ask", {"question": "hi"}), path) is None
    thread.join(5)
    assert read_message(received[0].strip()) == Query("ask", {"question": "hi"})


def test_an_app_that_stops_half_way_is_an_error(runtime):
    path = socket_path()
    accepted_then_gone = encode_reply({"kind": "accepted"}) + encode_reply({"kind": "token",
                                                                           "text": "Hel"})
    _received, thread = serve_once(path, reply=accepted_then_gone)
    replies = query_app(Query("ask", {"question": "hi"}), path)
    assert replies is not None
    assert next(replies) == {"kind": "token", "text": "Hel"}
    with pytest.raises(InstanceError, match="closed the connection before it finished"):
        next(replies)
    thread.join(5)
