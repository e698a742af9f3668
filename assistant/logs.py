"""Logging to a rotating file in the log folder, so a user can attach it to a bug report.

When the log cannot be written (a read-only or full disk, a folder that is not ours), logging
goes to stderr instead, warnings and worse only: a log file is a help, never a reason to fail.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys

from assistant.paths import AppPaths

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _QuietFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler that says once on stderr when a write fails, without a traceback
    (the default prints one per record)."""

    _complained = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if not self._complained:
            self._complained = True
            error = sys.exc_info()[1]
            sys.stderr.write(f"Warning: cannot write the log file {self.baseFilename}: "
                             f"{getattr(error, 'strerror', None) or error}\n")


def setup_logging(paths: AppPaths, level: int = logging.INFO) -> None:
    """Send the ``assistant`` and ``ui`` loggers to ``loremind.log`` (1 MB × 3 files), or to
    stderr (warnings only) when that file cannot be opened."""
    handler: logging.Handler
    try:
        paths.log_dir.mkdir(parents=True, exist_ok=True)
        # backslashreplace: a message naming a file whose name is not UTF-8 still gets written.
        handler = _QuietFileHandler(paths.log_file, maxBytes=1_000_000, backupCount=3,
                                    encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        sys.stderr.write(f"Warning: cannot write the log file {paths.log_file} "
                         f"({exc.strerror or exc}); logging warnings to the terminal instead.\n")
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(_FORMAT))
    for name in ("assistant", "ui"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h, logging.StreamHandler)  # file handlers are stream handlers
                   for h in logger.handlers):
            logger.addHandler(handler)
