"""``loremind store``: where the database lives, credentials for a shared one, the writer role."""

from __future__ import annotations

import json

import click

from assistant.cli.app import cli_core, main, reports_errors


@main.group()
def store() -> None:
    """The database: local, or shared in object storage (one machine writes, others read)."""


@store.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def store_status(as_json: bool) -> None:
    """Where the database is, and whether this machine may write it."""
    report = cli_core().storage.status()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        click.echo(f"{key}: {value}")


@store.command("credentials")
@click.option("--access-key-id", prompt=True, help="The access key id.")
@click.option("--secret-access-key", prompt=True, hide_input=True, help="The secret key.")
@reports_errors
def store_credentials(access_key_id: str, secret_access_key: str) -> None:
    """Keep the shared store's credentials in the system keyring (never in config.toml)."""
    name = cli_core().storage.set_credentials(access_key_id, secret_access_key)
    click.echo(f"Stored in the keyring as '{name}'.")


@store.command("claim-writer")
@reports_errors
def claim_writer_cmd() -> None:
    """Make this machine the one that writes the shared store (the old writer turns reader)."""
    uri = cli_core().storage.claim_writer()
    click.echo(f"This machine now writes {uri}. Other machines read it.")
