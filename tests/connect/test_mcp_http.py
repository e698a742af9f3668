"""MCP on the local port, driven by the MCP SDK's own HTTP client; tokens on every request;
nothing beyond loopback unless the user says so."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from assistant.connect.http import ConnectServer
from assistant.core import Permissions
from assistant.errors import ConfigError
from tests.connect.support import MEMORY


async def over_http(url: str, token: str, calls) -> dict:
    """Run ``calls(session)`` in an MCP session at ``url`` carrying ``token``."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(f"{url}/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await calls(session)


def test_mcp_over_the_port_searches_and_reads_the_folders_and_memories(connected, served):
    client, token = connected.connections.register("Editor", Permissions(read_memories=True))

    async def calls(session: ClientSession) -> dict:
        return {"tools": [t.name for t in (await session.list_tools()).tools],
                "search": await session.call_tool("search_documents",
                                                  {"query": "tomatoes water July"}),
                "folders": await session.read_resource("loremind://folders"),
                "memories": await session.read_resource("loremind://memories"),
                "propose": await session.call_tool("propose_memory", {"text": "I like jazz"})}

    done = asyncio.run(over_http(served, token, calls))
    assert done["tools"] == ["search_documents", "relevant_memories"]
    assert done["search"].structured_content["passages"][0]["path"].endswith("garden.md")
    assert '"indexed": 2' in done["folders"].contents[0].text
    assert MEMORY in done["memories"].contents[0].text
    assert done["propose"].is_error and "propose memories" in done["propose"].content[0].text
    assert [e.action for e in reversed(connected.connections.audit(client.id))] == [
        "search", "folders", "memory_list", "propose"]


def test_a_missing_or_wrong_token_gets_401_and_reaches_nothing(connected, served):
    _client, token = connected.connections.register("Editor", Permissions())
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"}}}
    accept = {"Accept": "application/json, text/event-stream"}
    for headers in ({}, {"Authorization": "Bearer lm-guess"}, {"Authorization": token}):
        reply = httpx2.post(f"{served}/mcp", json=initialize, headers={**accept, **headers})
        assert reply.status_code == 401
        assert reply.json()["error"]["type"] == "authentication_error"
        assert reply.headers["www-authenticate"] == "Bearer"
    with pytest.raises(BaseExceptionGroup) as caught:  # the SDK's client: an error reply
        asyncio.run(over_http(served, "lm-guess", lambda s: s.list_tools()))
    assert caught.group_contains(MCPError)
    assert connected.connections.audit() == []  # nobody was let in to record


def test_an_oversized_request_is_refused_before_it_is_read(connected, served):
    _client, token = connected.connections.register("Editor", Permissions(propose_memories=True))
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"text": "' + \
        b"x" * (3 * 1024 * 1024) + b'"}}'
    reply = httpx2.post(f"{served}/mcp", content=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream"})
    assert reply.status_code == 413
    assert connected.memory.list(status=None)[0].text == MEMORY


def own_address() -> str:
    """This machine's address on its network (no packet is sent), or 127.0.0.1 without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def test_listening_beyond_loopback_needs_the_users_say_and_then_a_token(connected):
    settings = dataclasses.replace(connected.current_settings.connect, host="0.0.0.0")
    with pytest.raises(ConfigError, match="allow_network"):
        ConnectServer(connected, settings)
    _client, token = connected.connections.register("Laptop", Permissions())
    server = ConnectServer(connected, dataclasses.replace(settings, allow_network=True))
    url = server.start().replace("0.0.0.0", own_address())
    try:
        assert httpx2.get(f"{url}/v1/models").status_code == 401
        assert httpx2.get(f"{url}/v1/models",
                          headers={"Authorization": "Bearer lm-wrong"}).status_code == 401
        listed = httpx2.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200 and listed.json()["data"][0]["id"] == "loremind"
    finally:
        server.stop()


def test_a_taken_port_is_a_clear_error(connected, served):
    port = int(served.rsplit(":", 1)[1])
    settings = dataclasses.replace(connected.current_settings.connect, port=port)
    with pytest.raises(ConfigError, match="choose another in Settings"):
        ConnectServer(connected, settings).start()
