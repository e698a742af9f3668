"""The server for other apps, run by the app while Settings say so.

The GUI makes one ConnectHost; it starts the server when Connections are switched on, stops it
when they are switched off, and restarts it on another address or port, following every change
of the settings whichever front end made it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.config import ConnectSettings
from assistant.core import Area, Change, Loremind
from assistant.errors import LoremindError

if TYPE_CHECKING:  # uvicorn, Starlette and the MCP SDK load only when the server starts
    from assistant.connect.http import ConnectServer

log = logging.getLogger(__name__)


class ConnectHost:
    """Keeps the HTTP server in line with the Connections settings; ``close`` stops it."""

    def __init__(self, core: Loremind,
                 on_error: Callable[[LoremindError], None] | None = None) -> None:
        self.core = core
        self._on_error = on_error
        self._lock = threading.Lock()
        self._server: ConnectServer | None = None
        self._serving: ConnectSettings | None = None
        self._closed = False
        self._unsubscribe = core.changes.subscribe(self._changed)

    @property
    def url(self) -> str:
        """Where the server listens now; "" when it does not."""
        server = self._server
        return server.url if server is not None else ""

    def apply(self) -> None:
        """Start, stop or move the server to match the settings (blocks while it starts)."""
        from assistant.connect.http import ConnectServer

        with self._lock:
            wanted = self.core.current_settings.connect
            address = (wanted.host, wanted.port, wanted.allow_network)
            if self._serving is not None and wanted.enabled and not self._closed and \
                    (self._serving.host, self._serving.port,
                     self._serving.allow_network) == address:
                return
            self._stop()
            if not wanted.enabled or self._closed:
                return
            try:
                server = ConnectServer(self.core, wanted)
                server.start()
            except LoremindError as exc:
                log.warning("Connections could not start: %s", exc)
                if self._on_error is not None:
                    self._on_error(exc)
                return
            self._server, self._serving = server, wanted

    def close(self) -> None:
        """Stop the server and stop following the settings."""
        self._unsubscribe()
        with self._lock:
            self._closed = True
            self._stop()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = self._serving = None

    def _changed(self, change: Change) -> None:
        if change.about(Area.SETTINGS):
            self.apply()
