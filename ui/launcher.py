"""The installed ``loremind`` command: the core's CLI with the desktop app as its default.

The GUI side registers its launcher on the core CLI, so the core never imports ``ui``; Qt is
imported only when the window is wanted, and ``loremind index …`` stays free of it.
"""

from __future__ import annotations


def launch(*, minimized: bool = False, popup: bool = False, question: str = "") -> int:
    """Open the desktop app (or hand over to the running one); returns the exit status."""
    from ui.app import run_gui

    return run_gui(minimized=minimized, popup=popup, question=question)


def register() -> None:
    """Make ``loremind`` without a command, and ``ask --popup``, open the desktop app."""
    from assistant.cli.app import set_gui_launcher

    set_gui_launcher(launch)


def main() -> None:
    """Entry point of the ``loremind`` command and of the bundle."""
    from assistant.cli import main as cli

    register()
    cli()
