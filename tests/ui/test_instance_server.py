"""Single instance: a real server in the app, real clients (a thread, a second process)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading

import pytest

from assistant.instance import Request, hand_over, socket_path
from ui.instance_server import InstanceServer

pytestmark = pytest.mark.gui


@pytest.fixture
def server(qtbot):
    """The app's server, listening on this test's socket."""
    listening = InstanceServer(socket_path())
    assert listening.listen(Request("show"))
    yield listening
    listening.close()


def in_thread(function, *args):
    """Run a blocking client call beside the Qt event loop; returns [result or exception]."""
    outcome: list[object] = []

    def run():
        try:
            outcome.append(function(*args))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return outcome


def test_only_this_user_can_open_the_socket(server):
    path = server.path
    folder = path.parent.stat()
    assert stat.S_IMODE(folder.st_mode) == 0o700 and folder.st_uid == os.getuid()
    info = path.stat()
    assert stat.S_ISSOCK(info.st_mode) and info.st_uid == os.getuid()
    assert stat.S_IMODE(info.st_mode) & 0o077 == 0


def test_a_client_hands_over_a_request(qtbot, server):
    with qtbot.waitSignal(server.requested, timeout=30000) as received:
        outcome = in_thread(hand_over, Request("popup", "Where is the invoice?"), server.path)
    assert received.args == [Request("popup", "Where is the invoice?")]
    qtbot.waitUntil(lambda: bool(outcome), timeout=30000)
    assert outcome == [True]


def test_a_garbled_request_is_refused_and_nothing_happens(qtbot, server):
    seen = []
    server.requested.connect(seen.append)

    def send_garbage():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(str(server.path))
            client.sendall(b'{"action": "rm -rf"}\n')
            return client.recv(100)

    outcome = in_thread(send_garbage)
    qtbot.waitUntil(lambda: bool(outcome), timeout=30000)
    assert outcome == [b"refused\n"] and seen == []


def test_a_socket_left_by_a_crashed_instance_is_taken_over(qtbot):
    path = socket_path()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    server = InstanceServer(path)
    try:
        assert server.listen(Request("show")) and server.listening
        with qtbot.waitSignal(server.requested, timeout=30000):
            outcome = in_thread(hand_over, Request("show"), path)
        qtbot.waitUntil(lambda: bool(outcome), timeout=30000)
        assert outcome == [True]
    finally:
        server.close()


SECOND_LAUNCH = """
import sys
from assistant.cli import main
from ui.launcher import register
register()  # what the installed `loremind` command does
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print("qt-imported" if "PySide6" in sys.modules else "no-qt", flush=True)
"""


@pytest.mark.parametrize(("argv", "expected"), [
    (["ask", "--popup", "What did I note about Tuesday?"],
     Request("popup", "What did I note about Tuesday?")),
    (["ask", "--popup"], Request("popup")),
    ([], Request("show")),
])
def test_a_second_loremind_process_hands_over_without_qt(qtbot, server, argv, expected):
    with qtbot.waitSignal(server.requested, timeout=30000) as received:
        process = subprocess.Popen([sys.executable, "-c", SECOND_LAUNCH, *argv],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=dict(os.environ))
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert received.args == [expected]
    assert out.strip().splitlines()[-1] == "no-qt"
