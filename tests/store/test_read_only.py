"""A data folder on a read-only file system (a mounted backup, a locked-down machine): every
reading command works, every writing one says the folder is read-only, and a question is
answered as a temporary chat that says so.

The folder is bind-mounted read-only inside a private mount namespace (``unshare``), so even
root gets EROFS, as on a real read-only mount, and nothing outside the command sees it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.bench.synthetic import write_tiny_model
from assistant.config import Settings, save_settings
from assistant.core import Loremind
from assistant.paths import app_paths

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.slow


def read_only(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``loremind ARGS`` with ``home`` mounted read-only for that command alone."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) for a private read-only mount")
    script = (f'mount --bind "{home}" "{home}" && mount -o remount,ro,bind "{home}" '
              '&& exec "$@"')
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", sys.executable, "-m",
                           "assistant", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


@pytest.fixture
def filled_home(loremind_home, tmp_path, embedder):
    """A data folder with a memory, an indexed folder and a stored chat."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "boiler.md").write_text("# Boiler\n\nError E27 means the pilot flame went out. "
                                    "Press the reset button for five seconds.\n")
    settings = Settings()
    settings.model.path = str(write_tiny_model(tmp_path / "tiny.gguf"))
    settings.generation.max_tokens = 8
    save_settings(settings, app_paths().ensure().config_file)
    core = Loremind.open(embedder=embedder)
    core.memory.remember("My boiler is in the cellar")
    core.knowledge.index(docs)
    session = core.chat.new_session()
    assert type(list(core.chat.ask(session, "Hello"))[-1]).__name__ == "Done"
    core.close()
    return loremind_home, session.id


def test_reading_commands_work_and_writing_ones_say_the_folder_is_read_only(filled_home):
    home, session_id = filled_home
    listed = read_only(home, "memory", "list")
    assert listed.returncode == 0, listed.stderr
    assert "My boiler is in the cellar" in listed.stdout

    found = read_only(home, "search", "What does E27 mean?", "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["path"].endswith("boiler.md")
    assert "read-only" in found.stderr  # the note says why nothing can change

    chats = read_only(home, "sessions", "list")
    assert chats.returncode == 0 and session_id in chats.stdout, chats.stderr
    status = read_only(home, "knowledge", "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["documents"] == 1

    for command in (["memory", "add", "I like tea"], ["memory", "pause"],
                    ["sessions", "delete", session_id]):
        refused = read_only(home, *command)
        assert refused.returncode == 1, (command, refused.stdout)
        assert "read-only" in refused.stderr and "Traceback" not in refused.stderr, command


def test_a_question_is_answered_as_a_temporary_chat_with_a_notice(filled_home):
    home, _ = filled_home
    asked = read_only(home, "ask", "What does E27 mean?", "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["session_id"] is None, "nothing is stored"
    assert any("temporary" in notice for notice in answer["notices"])
    assert answer["sources"] and answer["sources"][0]["path"].endswith("boiler.md")
