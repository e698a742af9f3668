"""``loremind sessions export|import``: a chat to a Markdown or JSON file, and back."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.cli.app import cli_core, reports_errors
from assistant.cli.memory_cmds import sessions
from assistant.user_files import shown


@sessions.command("export")
@click.argument("session_id")
@click.argument("file", type=click.Path(path_type=Path))
@reports_errors
def sessions_export(session_id: str, file: Path) -> None:
    """Write a chat to FILE: JSON (to import again) for a .json name, else Markdown."""
    chat = cli_core().chat
    written = chat.export(chat.get(session_id), file)
    click.echo(f"Exported to {shown(written)}.")


@sessions.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@reports_errors
def sessions_import(file: Path) -> None:
    """Store a chat exported as JSON (a copy with a new id if the chat still exists)."""
    session = cli_core().chat.import_(file)
    click.echo(f"{session.id}  {session.title}")
