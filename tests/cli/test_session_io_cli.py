"""``loremind sessions export|import`` round trip, without a model."""

from __future__ import annotations

import json

from click.testing import CliRunner

from assistant.chat.conversations import ChatMessage, ChatSession
from assistant.chat.export import chat_to_json
from assistant.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_export_delete_import_from_the_command_line(tmp_path):
    chat = ChatSession(title="Espresso notes", adapters=[{"name": "style", "scale": 0.5}],
                       messages=[ChatMessage("user", "At what temperature?"),
                                 ChatMessage("assistant", "At 93 °C [1].", sources=[
                                     {"number": 1, "path": "/notes/espresso.md", "page": 0,
                                      "heading": "Brewing", "text": "93 °C", "score": 0.9}],
                                     stats={"completion_tokens": 7, "seconds": 0.5,
                                            "finish_reason": "stop", "adapters": []})])
    original = tmp_path / "original.json"
    original.write_text(json.dumps(chat_to_json(chat)))
    imported = run("sessions", "import", str(original))
    assert imported.exit_code == 0, imported.output
    assert imported.output.split()[0] == chat.id
    markdown, data = tmp_path / "chat.md", tmp_path / "chat.json"
    assert run("sessions", "export", chat.id, str(markdown)).exit_code == 0
    assert run("sessions", "export", chat.id, str(data)).exit_code == 0
    assert "## Loremind\n\nAt 93 °C [1]." in markdown.read_text()
    assert "espresso.md · Brewing" in markdown.read_text()
    assert run("sessions", "delete", chat.id).exit_code == 0
    assert run("sessions", "import", str(data)).exit_code == 0
    shown = json.loads(run("sessions", "show", chat.id, "--json").stdout)
    assert [(m["role"], m["text"], m["sources"]) for m in shown["messages"]] == \
        [(m.role, m.text, m.sources) for m in chat.messages]
    listed = json.loads(run("sessions", "list", "--json").stdout)
    assert [(c["title"], c["adapters"]) for c in listed] == [("Espresso notes", chat.adapters)]


def test_import_of_another_file_says_what_to_do(tmp_path):
    other = tmp_path / "memories.json"
    other.write_text("[]")
    result = CliRunner().invoke(main, ["sessions", "import", str(other)])
    assert result.exit_code == 1
    assert "not a chat exported by Loremind" in result.output
