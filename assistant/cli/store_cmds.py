"""``loremind store``: where the database lives, credentials for a shared one, the writer role."""

from __future__ import annotations

import json

import click

from assistant.cli.app import cli_context, main, reports_errors
from assistant.errors import ConfigError


@main.group()
def store() -> None:
    """The database: local, or shared in object storage (one machine writes, others read)."""


@store.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def store_status(as_json: bool) -> None:
    """Where the database is, and whether this machine may write it."""
    from assistant.database import open_app_database
    from assistant.store.shared import current_writer, is_uri

    ctx = cli_context()
    opened = open_app_database(ctx.paths, ctx.settings.store)
    shared = is_uri(ctx.settings.store.uri)
    report = {
        "location": str(opened.db_dir),
        "shared": shared,
        "writable": not opened.read_only_reason,
        "writer": current_writer(opened) if shared else None,
        "note": opened.read_only_reason,
    }
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
    from assistant.secrets import set_storage_credentials
    from assistant.store.shared import credentials_name

    settings = cli_context().settings.store
    if not settings.uri.startswith("s3://"):
        raise ConfigError("Set [store] uri = \"s3://bucket/path\" in the settings first.")
    set_storage_credentials(credentials_name(settings), access_key_id, secret_access_key)
    click.echo(f"Stored in the keyring as '{credentials_name(settings)}'.")


@store.command("claim-writer")
@reports_errors
def claim_writer_cmd() -> None:
    """Make this machine the one that writes the shared store (the old writer turns reader)."""
    from assistant.migrations import MIGRATIONS
    from assistant.store.shared import claim_writer, is_uri

    ctx = cli_context()
    if not is_uri(ctx.settings.store.uri):
        raise ConfigError("The database is not shared: [store] uri names no object storage.")
    claim_writer(ctx.settings.store, ctx.paths, MIGRATIONS)
    click.echo(f"This machine now writes {ctx.settings.store.uri}. Other machines read it.")
