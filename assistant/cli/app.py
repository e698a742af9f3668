"""The root command group and what every sub-command shares: settings, paths, error handling."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from assistant.config import Settings, load_settings
from assistant.defaults import force_offline
from assistant.errors import LoremindError
from assistant.logs import setup_logging
from assistant.paths import AppPaths, app_paths

F = TypeVar("F", bound=Callable[..., Any])
# Each module registers its commands on import; they are imported only when a command is looked
# up, so that `loremind` alone opens the window without loading LanceDB, llama.cpp or torch first.
COMMAND_MODULES = ("adapter_cmds", "bench", "chat_cmds", "desktop_cmds", "engine_cmds", "gui_cmds",
                   "knowledge_cmds", "memory_cmds", "model_cmds")
# Commands found in a single module: looking one up imports only that module (`ask --popup`
# then hands over to the running app in a fraction of a second). Others import every module.
COMMAND_HOMES = {"ask": "chat_cmds", "chat": "chat_cmds", "install-desktop": "desktop_cmds",
                 "uninstall-desktop": "desktop_cmds", "models": "model_cmds"}


class _CommandsOnDemand(click.Group):
    """A group that imports the command modules the first time a command is needed."""

    def _register(self, names: tuple[str, ...] = COMMAND_MODULES) -> None:
        for name in names:
            importlib.import_module(f"assistant.cli.{name}")

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._register()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        home = COMMAND_HOMES.get(cmd_name)
        self._register((home,) if home else COMMAND_MODULES)
        return super().get_command(ctx, cmd_name)


@dataclass
class CliContext:
    """What a sub-command needs: the folders and the settings, read once."""

    paths: AppPaths
    settings: Settings


def cli_context() -> CliContext:
    """Folders and settings for this run (created and read on first use)."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        paths = app_paths().ensure()
        setup_logging(paths)
        root.obj = CliContext(paths, load_settings(paths.config_file))
    return root.obj


def reports_errors(func: F) -> F:
    """Turn a :class:`LoremindError` into ``Error: …`` on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LoremindError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(cls=_CommandsOnDemand, invoke_without_command=True)
@click.version_option(package_name="loremind")
@click.option("--minimized", is_flag=True,
              help="Start in the system tray without opening the window (where there is a tray).")
@click.pass_context
@reports_errors
def main(ctx: click.Context, minimized: bool) -> None:
    """Loremind: a private assistant that knows your documents. With no command, opens the app
    (or raises the window of the one already running)."""
    force_offline()
    if ctx.invoked_subcommand is None:
        from assistant.instance import Request, hand_over, instance_running

        if instance_running() if minimized else hand_over(Request("show")):
            return
        from ui.app import run_gui  # Qt is imported only when the GUI is wanted

        sys.exit(run_gui(minimized=minimized))
