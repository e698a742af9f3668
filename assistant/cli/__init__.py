"""The ``loremind`` command: the GUI by default, and a sub-command for everything the GUI does.

Each area registers its commands from its own module (listed in ``app.COMMAND_MODULES``, imported
on demand); the core raises :class:`LoremindError`,
and this layer turns it into a one-line message and exit status 1.
"""

from __future__ import annotations

from assistant.cli.app import main

__all__ = ["main"]
