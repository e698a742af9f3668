"""``loremind remote``: API keys of OpenAI-compatible servers, kept in the system keyring."""

from __future__ import annotations

import click

from assistant.cli.app import cli_core, main, reports_errors


@main.group()
def remote() -> None:
    """Remote engines: OpenAI-compatible servers that answer instead of the local model."""


@remote.command("key")
@click.argument("url")
@click.option("--api-key", prompt=True, hide_input=True, help="The server's API key.")
@reports_errors
def remote_key(url: str, api_key: str) -> None:
    """Keep the API key of the server at URL in the system keyring (never in config.toml)."""
    root = cli_core().storage.set_server_key(url, api_key)
    click.echo(f"Stored the API key for {root} in the keyring.")


@remote.command("forget-key")
@click.argument("url")
@reports_errors
def remote_forget_key(url: str) -> None:
    """Remove the API key of the server at URL from the keyring."""
    removed = cli_core().storage.forget_server_key(url)
    click.echo("Removed." if removed else "There was no key for that server.")
