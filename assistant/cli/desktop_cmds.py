"""``loremind install-desktop`` / ``uninstall-desktop``: the app in the menu, and at log-in."""

from __future__ import annotations

import click

from assistant.cli.app import main, reports_errors
from assistant.desktop import install_desktop, uninstall_desktop


@main.command("install-desktop")
@click.option("--autostart", is_flag=True, help="Also start Loremind (in the tray) at log-in.")
@reports_errors
def install_desktop_cmd(autostart: bool) -> None:
    """Add Loremind to your applications menu (for the current user only)."""
    for path in install_desktop(autostart=autostart):
        click.echo(f"Installed {path}")


@main.command("uninstall-desktop")
@reports_errors
def uninstall_desktop_cmd() -> None:
    """Remove the menu entry, icons and autostart entry."""
    removed = uninstall_desktop()
    for path in removed:
        click.echo(f"Removed {path}")
    if not removed:
        click.echo("Nothing to remove.")
