"""``loremind mcp`` driven by the MCP SDK's own client over stdio, as Claude Desktop runs it."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters, stdio_client

from assistant.core import MemoryStatus, Permissions
from tests.connect.support import MEMORY, QUESTION

ROOT = Path(__file__).resolve().parents[2]


def server_parameters(token: str) -> StdioServerParameters:
    """``python -m assistant mcp`` in this test's folders, with the app's token."""
    env = {name: os.environ[name] for name in (
        "LOREMIND_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR", "PYTHON_KEYRING_BACKEND")}
    env.update(LOREMIND_TOKEN=token, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    return StdioServerParameters(command=sys.executable, args=["-m", "assistant", "mcp"],
                                 env=env, cwd=str(ROOT))


async def session_calls(token: str) -> dict:
    async with stdio_client(server_parameters(token)) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return {
                "tools": [t.name for t in (await session.list_tools()).tools],
                "search": await session.call_tool("search_documents",
                                                  {"query": QUESTION, "k": 2}),
                "memories": await session.call_tool("relevant_memories",
                                                    {"question": "Which boiler do I have?"}),
                "propose": await session.call_tool(
                    "propose_memory", {"text": "I have the boiler serviced every October"}),
                "unknown": await session.call_tool("delete_everything", {}),
                "huge": await session.call_tool("propose_memory", {"text": "z" * 200_000}),
                "resources": [str(r.uri) for r in (await session.list_resources()).resources],
                "memory_list": await session.read_resource("loremind://memories"),
            }


def audit_of(core, client_id: str, count: int) -> list:
    """The app's audit trail once ``count`` calls are in it (the server writes in batches)."""
    deadline = time.monotonic() + 20
    while True:
        entries = core.connections.audit(client_id)
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.1)


def test_loremind_mcp_searches_reads_proposes_and_records_every_call(connected):
    client, token = connected.connections.register(
        "Claude Desktop", Permissions(read_memories=True, propose_memories=True))
    calls = asyncio.run(session_calls(token))

    assert calls["tools"] == ["search_documents", "relevant_memories", "propose_memory"]
    passages = calls["search"].structured_content["passages"]
    assert not calls["search"].is_error and passages[0]["path"].endswith("boiler.md")
    assert passages[0]["citation"] == "boiler.md · Boiler manual > Errors"
    assert "E42" in passages[0]["text"]
    assert calls["search"].content[0].text.startswith("[1] boiler.md · Boiler manual > Errors")
    assert [m["text"] for m in calls["memories"].structured_content["memories"]] == [MEMORY]

    proposed_id = calls["propose"].structured_content["id"]
    pending = connected.memory.list(MemoryStatus.PENDING)
    assert [(m.id, m.source) for m in pending] == [(proposed_id, "Claude Desktop")]
    assert proposed_id not in [m.id for m in connected.memory.list()]  # not kept yet
    connected.memory.approve(proposed_id)
    assert connected.memory.get(proposed_id).status == MemoryStatus.ACTIVE

    assert calls["unknown"].is_error and "delete_everything" in calls["unknown"].content[0].text
    assert calls["huge"].is_error and "at most 500" in calls["huge"].content[0].text
    assert len(connected.memory.list(status=None)) == 2  # the huge one was never stored
    assert calls["resources"] == ["loremind://memories", "loremind://folders"]
    assert MEMORY in calls["memory_list"].contents[0].text

    entries = audit_of(connected, client.id, 5)
    assert [(e.action, e.outcome) for e in reversed(entries)] == [
        ("search", "ok"), ("memories", "ok"), ("propose", "ok"), ("propose", "refused"),
        ("memory_list", "ok")]
    assert entries[-2].sentence().startswith("Claude Desktop read 1 memory about")


def test_loremind_mcp_refuses_a_wrong_token_before_serving(connected):
    import subprocess

    params = server_parameters("lm-not-a-token")
    done = subprocess.run([params.command, *params.args], env=params.env, cwd=params.cwd,
                          input="", capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("Error: This token belongs to no app registered")


def test_tools_the_app_may_not_use_are_not_listed(connected):
    _client, token = connected.connections.register("Search only", Permissions(tools=("search",)))

    async def listed() -> tuple[list[str], bool]:
        async with stdio_client(server_parameters(token)) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                names = [t.name for t in (await session.list_tools()).tools]
                refused = await session.call_tool("relevant_memories", {"question": "boiler"})
                return names, refused.is_error

    names, refused = asyncio.run(listed())
    assert names == ["search_documents"] and refused
