"""The root command group and what every sub-command shares: settings, paths, the core, errors.

The core CLI knows nothing of the GUI: the desktop front end registers its launcher with
:func:`set_gui_launcher` (``ui.launcher``, the installed ``loremind`` command, does), and
``loremind`` with no command then opens the window. ``python -m assistant`` is the CLI alone.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from assistant.config import Settings, load_settings
from assistant.defaults import force_offline
from assistant.errors import LoremindError
from assistant.json_shapes import storable
from assistant.paths import AppPaths, app_paths

if TYPE_CHECKING:
    from assistant.core import Loremind

F = TypeVar("F", bound=Callable[..., Any])
# Each module registers its commands on import; they are imported only when a command is looked
# up, so that `loremind` alone opens the window without loading LanceDB, llama.cpp or torch first.
COMMAND_MODULES = ("adapter_cmds", "bench", "chat_cmds", "connect_cmds", "desktop_cmds",
                   "embedder_cmds", "engine_cmds", "gui_cmds", "knowledge_cmds", "memory_cmds",
                   "model_cmds", "remote_cmds", "session_io_cmds", "store_cmds", "train_cmds")
# Commands found in a single module: looking one up imports only that module (`ask --popup`
# then hands over to the running app in a fraction of a second; `search` and `ask` ask it).
# Others import every module.
COMMAND_HOMES = {"ask": "chat_cmds", "chat": "chat_cmds", "install-desktop": "desktop_cmds",
                 "uninstall-desktop": "desktop_cmds", "models": "model_cmds",
                 "search": "knowledge_cmds", "mcp": "connect_cmds", "serve": "connect_cmds",
                 "connect": "connect_cmds"}


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


class GuiLauncher(Protocol):
    """Opens the desktop app and runs it until quit; returns the exit status."""

    def __call__(self, *, minimized: bool = False, popup: bool = False,
                 question: str = "") -> int: ...


_gui_launcher: GuiLauncher | None = None


def set_gui_launcher(launcher: GuiLauncher) -> None:
    """Let ``loremind`` (no command) and ``ask --popup`` open the desktop app."""
    global _gui_launcher
    _gui_launcher = launcher


def launch_gui(*, minimized: bool = False, popup: bool = False, question: str = "") -> int:
    """Run the registered desktop app; a clear error where none is installed."""
    if _gui_launcher is None:
        raise LoremindError("The desktop app is not part of this command: run `loremind` "
                            "(installed with the app), or use a sub-command (--help lists "
                            "them).")
    return _gui_launcher(minimized=minimized, popup=popup, question=question)


@dataclass
class CliContext:
    """What a sub-command needs: the folders and the settings, read once, and the core."""

    paths: AppPaths
    settings: Settings
    _core: Loremind | None = None

    @property
    def core(self) -> Loremind:
        """The application core for this run (opened on first use, closed at exit)."""
        if self._core is None:
            from assistant.core import Loremind

            self._core = Loremind.open(self.paths, self.settings)
            click.get_current_context().find_root().call_on_close(self._core.close)
        return self._core


def cli_context() -> CliContext:
    """Folders and settings for this run (created and read on first use); the core comes
    from them, through :meth:`Loremind.open` like every front end's."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        paths = app_paths().ensure()
        root.obj = CliContext(paths, load_settings(paths.config_file))
    return root.obj


def cli_core() -> Loremind:
    """The application core for this run."""
    return cli_context().core


def reports_errors(func: F) -> F:
    """Turn a :class:`LoremindError` into ``Error: …`` on stderr and exit status 1; text
    arguments that are not valid UTF-8 are refused the same way before the command runs."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            refuse_undecodable(kwargs)
            return func(*args, **kwargs)
        except LoremindError as exc:
            # A message may quote what the user typed; bytes that are not UTF-8 are shown
            # escaped rather than ending the report in an encoding error.
            message = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")
            click.echo(f"Error: {message}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def refuse_undecodable(values: dict[str, Any]) -> None:
    """Raise :class:`LoremindError` naming the first text argument that holds bytes which are
    not UTF-8 (Python hands them over as lone surrogates, which no tokenizer or database
    takes). Path arguments may: a file's name is whatever bytes the file system holds."""
    ctx = click.get_current_context(silent=True)
    params = {p.name: p for p in ctx.command.params} if ctx is not None else {}
    for name, value in values.items():
        param = params.get(name)
        if param is not None and isinstance(param.type, click.Path):
            continue
        for text in value if isinstance(value, tuple | list) else (value,):
            if isinstance(text, str) and not storable(text):
                label = param.human_readable_name if param is not None else name
                raise LoremindError(
                    f"The argument {label} is not valid UTF-8 text ('{_escaped(text)[:60]}'). "
                    "Type it again in a terminal that uses UTF-8 (check LANG and LC_ALL).")


def _escaped(text: str) -> str:
    """``text`` with the bytes that are not UTF-8 written as ``\\xff``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the bytes as typed
    except UnicodeEncodeError:  # a lone surrogate that did not come from a byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


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
        sys.exit(launch_gui(minimized=minimized))
