"""The MCP server (the official ``mcp`` SDK): tools to search the user's documents with
citations, to read the memories that bear on a question and to propose a memory; resources for
the memory list and the indexed folders.

One server object serves one transport: ``loremind mcp`` runs it over stdio for the app that
launched it (identified by its token, checked again at every request, so a new token or a
switch-off takes effect at once); the HTTP server mounts it at ``/mcp``, where each request
carries its app's token. An app sees only the tools it may use, and every call goes through
the core's connections area, which checks it and writes the audit trail.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_REQUEST, CallToolResult, TextContent
from pydantic import Field

from assistant.connect.work import Workers
from assistant.core import (
    MAX_MEMORY_CHARS,
    MAX_QUERY_CHARS,
    MAX_RESULTS,
    Client,
    Loremind,
    source_title,
)
from assistant.errors import LoremindError

log = logging.getLogger(__name__)
INSTRUCTIONS = (
    "Loremind is the user's private assistant on this computer. It holds the documents the "
    "user chose to index and the facts the user agreed it may remember. Search the documents "
    "and cite the passages you use as [n]; read the memories that bear on a question; propose "
    "a memory only for a lasting fact or preference the user stated: the user approves it in "
    "Loremind before it is kept."
)
MEMORIES_URI = "loremind://memories"
FOLDERS_URI = "loremind://folders"
# Set for each request by the middleware: the app making it.
CALLER: contextvars.ContextVar[Client] = contextvars.ContextVar("loremind_caller")
Identify = Callable[[ServerRequestContext[Any, Any]], Awaitable[Client]]


def build_mcp_server(core: Loremind, workers: Workers, identify: Identify) -> MCPServer:
    """The MCP server over ``core``; ``identify`` names the app making each request."""
    server: MCPServer = MCPServer("Loremind", instructions=INSTRUCTIONS, log_level="WARNING",
                                  middleware=[_CallerMiddleware(core, workers, identify)])
    area = core.connections

    async def call(work: Callable[[Client], Any]) -> Any:
        client = CALLER.get()
        try:
            return await workers.call(lambda: work(client))
        except LoremindError as exc:  # the app (and its model) reads why, in words
            raise ToolError(str(exc)) from exc

    @server.tool(name="search_documents", title="Search the user's documents")
    async def search_documents(
            query: Annotated[str, Field(description="What to look for, in words.",
                                        json_schema_extra={"maxLength": MAX_QUERY_CHARS})],
            k: Annotated[int, Field(description="How many passages (1–20).")] = 5,
    ) -> CallToolResult:
        """Search the documents the user indexed in Loremind; returns numbered passages with
        their file, page and heading, to cite as [n]."""
        results = await call(lambda client: area.search(client, query, k))
        passages = [{"number": n, "citation": source_title(r.to_json()), "path": r.path,
                     "page": r.page, "heading": r.heading, "text": r.text,
                     "score": round(r.score, 4)} for n, r in enumerate(results, start=1)]
        text = "\n\n".join(f"[{p['number']}] {p['citation']} ({p['path']})\n{p['text']}"
                           for p in passages) or "No passage of the user's documents matches."
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content={"passages": passages})

    @server.tool(name="relevant_memories", title="Read memories relevant to a question")
    async def relevant_memories(
            question: Annotated[str, Field(description="The question or topic at hand.",
                                           json_schema_extra={"maxLength": MAX_QUERY_CHARS})],
            k: Annotated[int, Field(description=f"At most this many (1–{MAX_RESULTS}).")] = 8,
    ) -> CallToolResult:
        """What the user told Loremind to remember that bears on ``question`` (facts and
        preferences the user approved)."""
        found = await call(lambda client: area.relevant_memories(client, question, k))
        memories = [{"id": m.id, "text": m.text, "pinned": m.pinned} for m in found]
        text = "\n".join(f"- {m['text']}" for m in memories) or \
            "No memory of the user's bears on this question."
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content={"memories": memories})

    @server.tool(name="propose_memory", title="Propose a memory to the user")
    async def propose_memory(
            text: Annotated[str, Field(description="One lasting fact or preference the user "
                                                   "stated, in a short sentence.",
                                       json_schema_extra={"maxLength": MAX_MEMORY_CHARS})],
    ) -> CallToolResult:
        """Suggest that Loremind remember ``text``. Nothing is kept until the user approves it
        in Loremind, where it is shown as proposed by this app."""
        memory = await call(lambda client: area.propose_memory(client, text))
        if memory is None:
            note = ("Loremind knows this already (or it already waits for approval): nothing "
                    "new was proposed.")
            data: dict[str, Any] = {"id": None, "status": "known"}
        else:
            note = "Proposed: it waits for the user's approval in Loremind."
            data = {"id": memory.id, "status": memory.status, "text": memory.text}
        return CallToolResult(content=[TextContent(type="text", text=note)],
                              structured_content=data)

    @server.resource(MEMORIES_URI, name="memories", title="The user's memories",
                     mime_type="application/json")
    async def memory_list() -> str:
        """Every active memory the user keeps in Loremind."""
        found = await call(area.memories)
        return json.dumps([{"id": m.id, "text": m.text, "pinned": m.pinned,
                            "updated_at": m.updated_at} for m in found])

    @server.resource(FOLDERS_URI, name="folders", title="The user's indexed folders",
                     mime_type="application/json")
    async def folder_list() -> str:
        """The folders Loremind indexes (those this app may search), with document counts."""
        found = await call(area.folders)
        return json.dumps([{"folder": f.folder, "indexed": f.indexed, "skipped": f.skipped,
                            "failed": f.failed} for f in found])

    return server


def tool_allowed(client: Client, tool: str) -> bool:
    """Whether ``client`` may see and call the MCP tool named ``tool``."""
    permissions = client.permissions
    if tool == "search_documents":
        return permissions.may("search") and permissions.folders != ()
    if tool == "relevant_memories":
        return permissions.read_memories
    if tool == "propose_memory":
        return permissions.propose_memories
    return False


class _CallerMiddleware:
    """Names the app making each request (for the tools), and lists only its tools."""

    def __init__(self, core: Loremind, workers: Workers, identify: Identify) -> None:
        self._core = core
        self._workers = workers
        self._identify = identify

    async def __call__(self, ctx: ServerRequestContext[Any, Any],
                       call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None:  # a notification (initialized, cancelled): no reply to refuse
            return await call_next(ctx)
        try:
            client = await self._identify(ctx)
        except LoremindError as exc:
            raise MCPError(code=INVALID_REQUEST, message=str(exc)) from exc
        token = CALLER.set(client)
        try:
            result = await call_next(ctx)
        finally:
            CALLER.reset(token)
        if ctx.method == "tools/list" and isinstance(result, dict):  # the reply as sent
            current = await self._workers.call(lambda: self._core.connections.client(client.id))
            result = {**result, "tools": [t for t in result.get("tools", [])
                                          if tool_allowed(current, t.get("name", ""))]}
        return result


def serve_stdio(core: Loremind, token: str) -> None:
    """Serve MCP over stdin and stdout for the app whose ``token`` this is, until the app
    closes the pipe. Raises the core's error when the token is refused at start."""
    core.connections.authenticate(token)  # refused before the app is told anything
    workers = Workers()

    async def identify(_ctx: ServerRequestContext[Any, Any]) -> Client:
        return await workers.call(lambda: core.connections.authenticate(token))

    server = build_mcp_server(core, workers, identify)
    try:
        anyio.run(server.run_stdio_async)
    finally:
        workers.close()
