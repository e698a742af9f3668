"""`loremind search` and `loremind ask` go through the running app: a real LoremindApp serves a
real `loremind` process over the real socket, and the command loads nothing heavy itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from assistant.instance import Query, query_app, socket_path
from ui.instance_server import InstanceServer

pytestmark = pytest.mark.gui

COMMAND = """
import sys
from assistant.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print(sorted(m for m in ("lancedb", "llama_cpp", "torch") if m in sys.modules), flush=True)
"""


@pytest.fixture
def served(qtbot, app):
    """The app, loaded, answering queries on its socket; yields the queries it received."""
    server = InstanceServer(socket_path())
    assert server.listen(None)
    received: list[Query] = []
    server.queried.connect(lambda query, reply: received.append(query))
    server.queried.connect(app.serve)
    with qtbot.waitSignal(app.ready, timeout=30000):
        app.start()
    yield received
    server.close()


def run_command(qtbot, *argv: str) -> tuple[str, str]:
    """Run `loremind ARGV` in its own process while the app's event loop runs; its output
    without the last line, and that line (the heavy libraries the command imported)."""
    process = subprocess.Popen([sys.executable, "-c", COMMAND, *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=60000)
    out, err = process.communicate()
    assert process.returncode == 0, err
    *lines, imported = out.strip().splitlines()
    return "\n".join(lines), imported


def test_search_is_answered_by_the_running_app(qtbot, app, served, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "network.md").write_text("# Network\n\nError NX-301 means the cable is unplugged.")
    (docs / "oven.md").write_text("# Oven\n\nClean the oven door with a soft cloth.")
    app.core.knowledge.index(docs)

    out, imported = run_command(qtbot, "search", "--json", "--k", "2", "--folder", str(docs),
                                "NX-301 cable")
    expected = [{"path": r.path, "page": r.page, "heading": r.heading, "score": r.score,
                 "similarity": r.similarity, "text": r.text}
                for r in app.core.knowledge.search("NX-301 cable", 2, [docs])]
    assert json.loads(out) == expected and expected[0]["path"].endswith("network.md")
    assert [q.kind for q in served] == ["search"]
    assert imported == "[]", "the command searched by itself"


def test_ask_streams_the_running_apps_answer_and_it_is_stored(qtbot, app, served):
    out, imported = run_command(qtbot, "ask", "--json", "Hello there")
    result = json.loads(out)
    assert result["model"] == app.core.parts.model.model_id  # the app's tiny model answered
    assert result["completion_tokens"] > 0 and result["engine"] == "local"
    stored = app.core.chat.get(result["session_id"])
    assert [m.role for m in stored.messages] == ["user", "assistant"]
    assert stored.messages[-1].text == result["text"]
    assert [q.kind for q in served] == ["ask"] and imported == "[]"


def test_a_command_that_hangs_up_stops_the_answer(qtbot, app, served, settings):
    settings.generation.max_tokens = 1500
    first: list[dict] = []

    def ask_then_hang_up():
        replies = query_app(Query("ask", {"question": "Write a very long story",
                                          "session_id": None, "temporary": False,
                                          "use_knowledge": False, "adapters": []}))
        assert replies is not None
        first.append(next(r for r in replies if r["kind"] == "token"))
        replies.close()  # as Ctrl+C does: the connection closes

    client = threading.Thread(target=ask_then_hang_up, daemon=True)
    client.start()
    qtbot.waitUntil(lambda: bool(first), timeout=30000)
    qtbot.waitUntil(lambda: not app.tasks.is_busy("model"), timeout=30000)
    client.join(5)
    session = app.core.chat.list()[0]
    answer = app.core.chat.get(session.id).messages[-1]
    assert answer.role == "assistant" and answer.stats["finish_reason"] == "cancelled"
    assert answer.stats["completion_tokens"] < 1500
