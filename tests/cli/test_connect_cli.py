"""``loremind connect …`` and ``loremind memory pending``: the user's control over other apps
from a terminal."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.cli import main
from tests.connect.support import file_keyring  # noqa: F401  (autouse: a file keyring)


@pytest.fixture
def shared_embedder(embedder, monkeypatch):
    """Commands load the embedder themselves; hand them the session's (the real model)."""
    monkeypatch.setattr("assistant.knowledge.embedder.Embedder", lambda: embedder)
    return embedder


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_register_control_and_read_what_an_app_did(shared_embedder, tmp_path):
    from assistant.core import Loremind

    assert json.loads(run("connect", "status", "--json"))["enabled"] is False
    run("connect", "on")
    added = run("connect", "add", "Claude Desktop", "--read-memories", "--propose-memories",
                "--folder", str(tmp_path))
    token = next(line.strip() for line in added.splitlines() if line.strip().startswith("lm-"))
    assert "shown only now" in added and added.count(token) == 1
    listed = json.loads(run("connect", "list", "--json"))
    assert listed[0]["permissions"]["folders"] == [str(tmp_path.resolve())]
    assert token not in run("connect", "list") and token not in run("connect", "status")

    core = Loremind.open(embedder=shared_embedder)
    app = core.connections.authenticate(token)
    proposed = core.connections.propose_memory(app, "I cycle to work")
    core.close()
    assert f"{proposed.id}  pending   I cycle to work  (proposed by Claude Desktop)" in \
        run("memory", "pending")
    assert "proposed  by Claude Desktop" in run("memory", "history", proposed.id)
    assert "Claude Desktop proposed a memory: “I cycle to work” (waiting for you) at " in \
        run("connect", "log")

    run("connect", "edit", "claude desktop", "--tools", "search", "--no-propose-memories")
    assert "may: search; searches " in run("connect", "list")
    assert "(switched off)" in run("connect", "disable", "Claude Desktop")
    renewed = run("connect", "token", "Claude Desktop")
    assert token not in renewed and "the old one no longer works" in renewed
    run("connect", "clear-log")
    assert "No app has called Loremind" in run("connect", "log")
    run("connect", "remove", "Claude Desktop")
    assert "No app is registered" in run("connect", "list")


def test_refusals_are_one_clear_line(shared_embedder):
    for args, message in ((["connect", "edit", "Nobody"], "No app named 'Nobody'"),
                          (["connect", "add", "Jan", "--tools", "shell"], "'shell' is not"),
                          (["serve"], "Connections are off"),
                          (["mcp"], "Set LOREMIND_TOKEN")):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and result.output.startswith("Error: ") and \
            message in result.output, result.output
