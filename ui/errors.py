"""The one way the GUI shows an error: a banner in the main window (a dialog when there is none).

Errors the core raises on purpose (:class:`LoremindError`) carry a message meant for the user and
are shown as they are; anything else is a bug, logged with its traceback and shown as such.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType

from assistant.errors import LoremindError
from ui.qt import QMessageBox, QWidget

log = logging.getLogger(__name__)
ErrorSink = Callable[[str, str], None]  # (message, details)
_sink: ErrorSink | None = None


def set_error_sink(sink: ErrorSink | None) -> None:
    """Route errors to ``sink`` (the main window's banner); None falls back to dialogs."""
    global _sink
    _sink = sink


def user_message(exception: BaseException) -> str:
    """The text a person sees for ``exception``."""
    if isinstance(exception, LoremindError):
        return str(exception)
    return (f"Something went wrong: {type(exception).__name__}: {exception}. "
            "The details are in the log; please report it.")


def show_error(parent: QWidget | None, exception: BaseException) -> None:
    """Show ``exception`` to the user; log it with its traceback unless it was expected."""
    details = ""
    if not isinstance(exception, LoremindError):
        details = "".join(traceback.format_exception(exception))
        log.error("Unexpected error\n%s", details)
    else:
        log.warning("%s", exception)
    message = user_message(exception)
    if _sink is not None:
        _sink(message, details)
        return
    box = QMessageBox(QMessageBox.Icon.Warning, "Loremind", message, parent=parent)
    if details:
        box.setDetailedText(details)
    box.open()  # never exec(): an error must not block the event loop (or a test)


def install_excepthook() -> None:
    """Show uncaught exceptions (a bug in a slot) through :func:`show_error`, not just stderr."""

    def hook(kind: type[BaseException], value: BaseException,
             tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        show_error(None, value.with_traceback(tb))

    sys.excepthook = hook
