"""Time limits on a server's replies, enforced while a read blocks, and Stop at any moment.

httpx's read timeout is per read: a server that streams forever, sends only keep-alive pings or
trickles a byte now and then (slowloris) never trips it. Each request therefore has a
:class:`Watch`: a helper thread that, when a limit passes or the answer is cancelled, shuts the
request's socket down, which makes the blocked read return at once; the reader then raises the
error that names the limit (or, when cancelled, stops quietly).

The limits (``[model.remote]`` settings): ``connect_timeout_s`` to connect; ``timeout_s`` for a
reply to start (a streamed answer's first piece) and for a whole reply that is not streamed;
``idle_timeout_s`` between two pieces of an answer; ``answer_timeout_s`` for a whole answer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from assistant.config import RemoteSettings
from assistant.errors import RemoteEngineError

TICK_S = 0.05  # how often the watch looks at the clock and the Stop flag


@dataclass(frozen=True)
class Limits:
    """Seconds allowed for each step of talking to a server."""

    connect_s: float = 10.0
    reply_s: float = 120.0
    idle_s: float = 60.0
    answer_s: float = 600.0

    @classmethod
    def of(cls, settings: RemoteSettings) -> Limits:
        """The limits the settings choose."""
        return cls(settings.connect_timeout_s, settings.timeout_s, settings.idle_timeout_s,
                   settings.answer_timeout_s)


class LimitError(RemoteEngineError):
    """A server took longer than one of the limits; the message names the limit and setting."""


class Sockets:
    """The sockets a client opened, learnt from httpcore's ``trace`` hook as each connects,
    so that a request still waiting for its reply's headers can be cut too: which pooled
    socket it uses is not known then, so all of its client's are (another request of the same
    client in flight at that moment fails as a broken connection, retried if nothing of its
    answer had come)."""

    def __init__(self) -> None:
        self._open: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace callback: keep the socket of each new connection."""
        if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
            sock = info["return_value"].get_extra_info("socket")
            if isinstance(sock, socket.socket):
                with self._lock:
                    self._open.add(sock)

    def all(self) -> list[socket.socket]:
        """Every socket still known."""
        with self._lock:
            return list(self._open)


class Watch:
    """One request's limits, watched by a helper thread from ``start`` to ``stop``.

    ``first_s`` bounds the wait for the first piece (:meth:`progress`), ``idle_s`` each wait
    after it, ``total_s`` the whole request; None leaves one open.
    """

    def __init__(self, sockets: Sockets, *, total_s: float, first_s: float | None = None,
                 idle_s: float | None = None, cancel: threading.Event | None = None) -> None:
        self._sockets = sockets
        self._cancel = cancel
        self.first_s, self.idle_s, self.total_s = first_s, idle_s, total_s
        self._started = time.monotonic()
        self._last: float | None = None  # when the last piece came
        self._own: socket.socket | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="remote-watch", daemon=True)
        self.fired = ""  # "cancelled", "first", "idle" or "total" once the watch cut in

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join()

    @property
    def cancelled(self) -> bool:
        """Whether Stop was asked for."""
        return self._cancel is not None and self._cancel.is_set()

    def bind(self, response: Any) -> None:
        """The request has its reply (None: a new attempt has none yet): while it has, only its
        own socket is cut."""
        stream = response.extensions.get("network_stream") if response is not None else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        self._own = sock if isinstance(sock, socket.socket) else None

    def progress(self) -> None:
        """A piece of the answer arrived: the idle limit starts again."""
        self._last = time.monotonic()

    def _due(self) -> str:
        now = time.monotonic()
        if self.cancelled:
            return "cancelled"
        if now - self._started > self.total_s:
            return "total"
        if self._last is None:
            return "first" if self.first_s is not None and now - self._started > self.first_s \
                else ""
        return "idle" if self.idle_s is not None and now - self._last > self.idle_s else ""

    def _run(self) -> None:
        while not self._stopped.wait(TICK_S):
            reason = self._due()
            if reason:
                self.fired = reason
                for sock in [self._own] if self._own is not None else self._sockets.all():
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return
