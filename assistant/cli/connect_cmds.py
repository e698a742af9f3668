"""``loremind mcp``, ``loremind serve`` and ``loremind connect …``: other apps using Loremind,
and the user's control over them (which apps, what each may do, what each did)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path

import click

from assistant.cli.app import cli_core, main, reports_errors
from assistant.cli.bench import bench, print_result
from assistant.cli.options import MODEL_OPTION
from assistant.core import TOOLS, Client, Permissions
from assistant.errors import LoremindError

TOKEN_ENV = "LOREMIND_TOKEN"
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def permission_options(func: click.decorators.FC) -> click.decorators.FC:
    """The options that say what an app may do (for ``add`` and ``edit``)."""
    options = [
        click.option("--tools", default=None,
                     help=f"What it may call, comma-separated: {', '.join(TOOLS)} "
                          "(default: all three)."),
        click.option("--folder", "folders", multiple=True,
                     type=click.Path(path_type=Path, file_okay=False),
                     help="A folder it may search (repeat; default: every indexed folder)."),
        click.option("--all-folders", is_flag=True, help="It may search every indexed folder."),
        click.option("--read-memories/--no-read-memories", default=None,
                     help="Whether it may read your memories (default: no)."),
        click.option("--propose-memories/--no-propose-memories", default=None,
                     help="Whether it may propose memories for your approval (default: no)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _permissions(base: Permissions, tools: str | None, folders: tuple[Path, ...],
                 all_folders: bool, read_memories: bool | None,
                 propose_memories: bool | None) -> Permissions:
    if folders and all_folders:
        raise LoremindError("Give --folder or --all-folders, not both.")
    chosen = base
    if tools is not None:
        names = tuple(t.strip() for t in tools.split(",") if t.strip())
        chosen = dataclasses.replace(chosen, tools=names)
    if folders:
        chosen = chosen.with_folders([str(f) for f in folders])
    elif all_folders:
        chosen = chosen.with_folders(None)
    if read_memories is not None:
        chosen = dataclasses.replace(chosen, read_memories=read_memories)
    if propose_memories is not None:
        chosen = dataclasses.replace(chosen, propose_memories=propose_memories)
    return chosen


def _describe(client: Client) -> str:
    p = client.permissions
    folders = "every folder" if p.folders is None else ", ".join(p.folders) or "no folder"
    memory = ("reads and proposes memories" if p.read_memories and p.propose_memories else
              "reads memories" if p.read_memories else
              "proposes memories" if p.propose_memories else "no memories")
    state = "" if client.enabled else "  (switched off)"
    return (f"{client.name}{state}\n    may: {', '.join(p.tools) or 'nothing'}; searches "
            f"{folders}; {memory}")


def _show_token(client: Client, token: str) -> None:
    click.echo(f"Registered {client.name}. Its token (shown only now; the keyring keeps it):")
    click.echo(f"\n    {token}\n")
    click.echo(f"Give it to the app as its API key (Bearer token), or as {TOKEN_ENV} for "
               "`loremind mcp`.")


@main.command("mcp")
@reports_errors
def mcp_stdio() -> None:
    """Serve MCP over stdin/stdout, for an app that launches Loremind (Claude Desktop…). The
    app's token comes in the LOREMIND_TOKEN environment variable."""
    from assistant.connect.mcp_server import serve_stdio

    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise LoremindError(f"Set {TOKEN_ENV} to the app's token (register the app with "
                            "`loremind connect add NAME`, or in Settings → Connections).")
    # An app that stops its server with SIGTERM still gets the audit trail's last calls written.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve_stdio(cli_core(), token)


@main.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: the settings').")
@click.option("--port", type=click.IntRange(0, 65_535), default=None,
              help="Port (default: the settings'; 0: any free one).")
@reports_errors
def serve(host: str | None, port: int | None) -> None:
    """Serve other apps (MCP at /mcp, the OpenAI-compatible API at /v1) until Ctrl+C, without
    the window."""
    from assistant.connect.http import ConnectServer

    core = cli_core()
    settings = core.current_settings.connect
    if not core.connections.enabled:
        raise LoremindError("Connections are off: turn them on with `loremind connect on` (or "
                            "in Settings → Connections).")
    chosen = dataclasses.replace(settings, host=host or settings.host,
                                 port=settings.port if port is None else port)
    server = ConnectServer(core, chosen)
    url = server.start()
    click.echo(f"Serving other apps at {url} (MCP: {url}/mcp, API: {url}/v1). Ctrl+C stops.",
               err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@main.group()
def connect() -> None:
    """Other apps using Loremind: switch on or off, register apps, set what each may do, read
    what each did."""


@connect.command("status")
@JSON_OPTION
@reports_errors
def connect_status(as_json: bool) -> None:
    """Whether Connections are on, where they listen, and the registered apps."""
    area = cli_core().connections
    settings = area.settings
    clients = area.clients()
    if as_json:
        click.echo(json.dumps({"enabled": settings.enabled, "host": settings.host,
                               "port": settings.port, "allow_network": settings.allow_network,
                               "clients": [c.to_json() for c in clients]}))
        return
    state = "on" if settings.enabled else "off"
    click.echo(f"Connections are {state}: http://{settings.host}:{settings.port} (MCP at /mcp, "
               f"API at /v1) while the app or `loremind serve` runs; `loremind mcp` for stdio.")
    for client in clients:
        click.echo(_describe(client))


@connect.command("on")
@reports_errors
def connect_on() -> None:
    """Let registered apps use Loremind."""
    cli_core().connections.switch(True)
    click.echo("Connections are on.")


@connect.command("off")
@reports_errors
def connect_off() -> None:
    """Refuse every app, whatever its permissions."""
    cli_core().connections.switch(False)
    click.echo("Connections are off.")


@connect.command("add")
@click.argument("name")
@permission_options
@reports_errors
def connect_add(name: str, tools: str | None, folders: tuple[Path, ...], all_folders: bool,
                read_memories: bool | None, propose_memories: bool | None) -> None:
    """Register an app called NAME and print its token (once)."""
    permissions = _permissions(Permissions(), tools, folders, all_folders, read_memories,
                               propose_memories)
    client, token = cli_core().connections.register(name, permissions)
    _show_token(client, token)


@connect.command("list")
@JSON_OPTION
@reports_errors
def connect_list(as_json: bool) -> None:
    """The registered apps and what each may do."""
    clients = cli_core().connections.clients()
    if as_json:
        click.echo(json.dumps([c.to_json() for c in clients]))
        return
    if not clients:
        click.echo("No app is registered. Add one with: loremind connect add NAME")
    for client in clients:
        click.echo(_describe(client))


@connect.command("edit")
@click.argument("name")
@permission_options
@reports_errors
def connect_edit(name: str, tools: str | None, folders: tuple[Path, ...], all_folders: bool,
                 read_memories: bool | None, propose_memories: bool | None) -> None:
    """Change what the app NAME may do (from its next call)."""
    area = cli_core().connections
    client = area.client(name)
    area.set_permissions(client.id, _permissions(client.permissions, tools, folders,
                                                 all_folders, read_memories, propose_memories))
    click.echo(_describe(area.client(client.id)))


@connect.command("enable")
@click.argument("name")
@reports_errors
def connect_enable(name: str) -> None:
    """Switch the app NAME on again."""
    area = cli_core().connections
    area.set_enabled(area.client(name).id, True)
    click.echo(_describe(area.client(name)))


@connect.command("disable")
@click.argument("name")
@reports_errors
def connect_disable(name: str) -> None:
    """Switch the app NAME off: every call it makes is refused."""
    area = cli_core().connections
    area.set_enabled(area.client(name).id, False)
    click.echo(_describe(area.client(name)))


@connect.command("token")
@click.argument("name")
@reports_errors
def connect_token(name: str) -> None:
    """Give the app NAME a new token (the old one stops working) and print it once."""
    area = cli_core().connections
    client = area.client(name)
    token = area.renew_token(client.id)
    click.echo(f"New token for {client.name} (shown only now; the old one no longer works):")
    click.echo(f"\n    {token}\n")


@connect.command("remove")
@click.argument("name")
@reports_errors
def connect_remove(name: str) -> None:
    """Forget the app NAME and its token (its calls stay in the log until cleared)."""
    area = cli_core().connections
    area.remove(area.client(name).id)
    click.echo("Removed.")


@connect.command("log")
@click.option("--app", "name", default=None, help="Only this app's calls.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@JSON_OPTION
@reports_errors
def connect_log(name: str | None, limit: int, as_json: bool) -> None:
    """What the apps did, latest first ("Claude Desktop read 3 memories at 14:02")."""
    area = cli_core().connections
    entries = area.audit(area.client(name).id if name else None, limit)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in entries]))
        return
    if not entries:
        click.echo("No app has called Loremind (or the log was cleared).")
    for entry in entries:
        day = datetime.fromtimestamp(entry.at).strftime("%Y-%m-%d")
        mark = "" if entry.outcome == "ok" else f"  [{entry.outcome}]"
        click.echo(f"{day}  {entry.sentence()}{mark}")


@connect.command("clear-log")
@click.option("--app", "name", default=None, help="Only this app's calls.")
@reports_errors
def connect_clear_log(name: str | None) -> None:
    """Erase the log of the apps' calls for good."""
    area = cli_core().connections
    area.clear_audit(area.client(name).id if name else None)
    click.echo("The log is cleared.")


@bench.command("api")
@MODEL_OPTION
@click.option("--runs", type=click.IntRange(1, 50), default=5, show_default=True,
              help="Answers timed each way (through the API and in process).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def bench_api(model_path: Path | None, runs: int, as_json: bool) -> None:
    """Time to first token through the OpenAI-compatible API against ``ask`` in process, and
    requests/s of /v1/embeddings against the embedder in process."""
    from assistant.bench.api import run_api_bench

    if not as_json:
        click.echo("Running the API benchmark (a minute or two)…", err=True)
    print_result(run_api_bench(runs=runs, model_path=model_path), as_json)
