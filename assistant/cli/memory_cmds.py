"""``loremind memory …`` and ``loremind sessions …``: see and control what Loremind keeps."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assistant.cli.app import cli_core, main, reports_errors
from assistant.core import Memory, MemoryStatus, plural
from assistant.user_files import shown

if TYPE_CHECKING:
    from assistant.core.chat import ChatArea
    from assistant.core.memory import MemoryArea

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def open_memory() -> MemoryArea:
    """The core's memory area."""
    return cli_core().memory


def open_conversations() -> ChatArea:
    """The core's chat area (the stored chats)."""
    return cli_core().chat


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _show(memories: list[Memory], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([m.to_json() for m in memories], indent=2))
        return
    if not memories:
        click.echo("No memories.")
    for m in memories:
        pin = "📌 " if m.pinned else ""
        source = f"  (proposed by {m.source})" if m.source else ""
        click.echo(f"{m.id}  {m.status:<9} {pin}{m.text}{source}")


@main.group()
def memory() -> None:
    """What Loremind remembers about you: list, add, edit, forget, undo, export."""


@memory.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include pending, rejected and forgotten.")
@click.option("--search", "query", default=None, help="Only memories matching these words.")
@JSON_OPTION
@reports_errors
def memory_list(show_all: bool, query: str | None, as_json: bool) -> None:
    """List active memories (pinned first)."""
    book = open_memory()
    status = None if show_all else MemoryStatus.ACTIVE
    _show(book.search(query, status=status) if query else book.list(status), as_json)


@memory.command("add")
@click.argument("text")
@click.option("--pin", is_flag=True, help="Use it in every answer.")
@JSON_OPTION
@reports_errors
def memory_add(text: str, pin: bool, as_json: bool) -> None:
    """Remember TEXT from now on."""
    book = open_memory()
    memory_id = book.remember(text).ids[0]
    if pin:
        book.pin(memory_id)
    _show([book.get(memory_id)], as_json)


@memory.command("edit")
@click.argument("memory_id")
@click.argument("text")
@reports_errors
def memory_edit(memory_id: str, text: str) -> None:
    """Change a memory's text."""
    book = open_memory()
    _show([book.get(book.edit(memory_id, text).ids[0])], False)


@memory.command("forget")
@click.argument("memory_id")
@click.option("--permanently", is_flag=True,
              help="Erase it and its text from the history; cannot be undone.")
@reports_errors
def memory_forget(memory_id: str, permanently: bool) -> None:
    """Stop using a memory (undo with 'restore')."""
    open_memory().forget(memory_id, permanent=permanently)
    click.echo("Erased for good." if permanently else "Forgotten. Undo with: loremind memory "
               f"restore {memory_id}")


@memory.command("restore")
@click.argument("memory_id")
@reports_errors
def memory_restore(memory_id: str) -> None:
    """Undo the last change to a memory (again: nothing more happens)."""
    book = open_memory()
    _show([book.get(book.restore(memory_id).ids[0])], False)


@memory.command("history")
@click.argument("memory_id")
@JSON_OPTION
@reports_errors
def memory_history(memory_id: str, as_json: bool) -> None:
    """Every change to a memory: what, by whom, when."""
    book = open_memory()
    memory = book.get(memory_id)
    events = book.history(memory.id)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in events], indent=2))
        return
    for e in events:
        change = f"'{e.old_text}' → '{e.new_text}'" if e.old_text != e.new_text else ""
        status = f"{e.old_status or '-'} → {e.new_status}" if e.old_status != e.new_status else ""
        actor = memory.source if e.actor == "app" and memory.source else e.actor
        click.echo(f"{_when(e.at)}  {e.event:<9} by {actor:<9} {status} {change}".rstrip())


@memory.command("pending")
@JSON_OPTION
@reports_errors
def memory_pending(as_json: bool) -> None:
    """Memories proposed from your chats or by connected apps, waiting for your approval."""
    _show(open_memory().list(MemoryStatus.PENDING), as_json)


@memory.command("approve")
@click.argument("memory_ids", nargs=-1, required=True)
@reports_errors
def memory_approve(memory_ids: tuple[str, ...]) -> None:
    """Keep proposed memories."""
    book = open_memory()
    _show([book.get(book.approve(i).ids[0]) for i in memory_ids], False)


@memory.command("reject")
@click.argument("memory_ids", nargs=-1, required=True)
@reports_errors
def memory_reject(memory_ids: tuple[str, ...]) -> None:
    """Decline proposed memories."""
    book = open_memory()
    _show([book.get(book.reject(i).ids[0]) for i in memory_ids], False)


@memory.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@reports_errors
def memory_export(file: Path) -> None:
    """Write every memory and its history to a JSON file."""
    written, count = open_memory().export_to(file)
    click.echo(f"Exported {plural(count, 'memory', 'memories')} to {shown(written)}.")


@memory.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@reports_errors
def memory_import(file: Path) -> None:
    """Merge memories from a JSON export (nothing is duplicated)."""
    memory = open_memory()
    data = memory.read_import(file)  # a malformed file is refused before the embedder loads
    batch = memory.import_batch

    def progress(done: int, total: int) -> None:
        if total >= batch:
            click.echo(f"\rEmbedding memories: {done}/{total}", nl=done == total, err=True)

    added, skipped = memory.import_(data, progress)
    click.echo(f"Imported {plural(added, 'memory', 'memories')}; {skipped} "
               f"{'was' if skipped == 1 else 'were'} already known.")


@memory.command("pause")
@reports_errors
def memory_pause() -> None:
    """Chats neither use nor propose memories until 'resume'."""
    open_memory().pause(True)
    click.echo("Memory paused.")


@memory.command("resume")
@reports_errors
def memory_resume() -> None:
    """Use and propose memories again."""
    open_memory().pause(False)
    click.echo("Memory resumed.")


@main.group()
def sessions() -> None:
    """Your stored chats: list, show, search, delete."""


@sessions.command("list")
@JSON_OPTION
@reports_errors
def sessions_list(as_json: bool) -> None:
    """Chats, most recent first."""
    chats = open_conversations().list()
    if as_json:
        click.echo(json.dumps([{"id": s.id, "title": s.title, "updated_at": s.updated_at,
                                "model": s.model, "adapters": s.adapters} for s in chats]))
        return
    for s in chats:
        click.echo(f"{s.id}  {_when(s.updated_at)}  {s.title}")


@sessions.command("show")
@click.argument("session_id")
@JSON_OPTION
@reports_errors
def sessions_show(session_id: str, as_json: bool) -> None:
    """A chat's messages."""
    chat = open_conversations().get(session_id)
    for problem in chat.damaged:
        click.echo(f"Note: damaged in the database, left out: {problem}", err=True)
    if as_json:
        click.echo(json.dumps({"id": chat.id, "title": chat.title, "damaged": chat.damaged,
                               "messages": [{"role": m.role, "text": m.text,
                                             "sources": m.sources,
                                             "memories_used": m.memories_used}
                                            for m in chat.messages]}))
        return
    click.echo(f"# {chat.title}")
    for m in chat.messages:
        click.echo(f"\n{m.role}: {m.text}")


@sessions.command("search")
@click.argument("query")
@JSON_OPTION
@reports_errors
def sessions_search(query: str, as_json: bool) -> None:
    """Past messages matching QUERY, across all chats."""
    hits = open_conversations().search(query)
    if as_json:
        click.echo(json.dumps([hit.__dict__ for hit in hits]))
        return
    for hit in hits:
        click.echo(f"{hit.session_id}  [{hit.title}] {hit.role}: {hit.text[:100]}")


@sessions.command("delete")
@click.argument("session_id")
@reports_errors
def sessions_delete(session_id: str) -> None:
    """Delete a chat and its messages."""
    open_conversations().delete(session_id)
    click.echo("Deleted.")
