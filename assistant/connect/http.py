"""One local port for other apps: MCP at ``/mcp`` and the OpenAI-compatible API at ``/v1``.

Every request needs the token of a registered app (``Authorization: Bearer …``), on every
address: without one it gets 401 and reaches nothing. The gate checks an ``/mcp`` request's
token before the MCP SDK sees it; a ``/v1`` route checks it in the call that does its work.
The server listens on 127.0.0.1 unless the user allows the network (``connect.allow_network``);
any other address is refused before a socket is opened. It runs on one thread it owns
("loremind-connect-http", uvicorn's event loop), the core's calls on its worker threads;
``stop`` ends both.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
from typing import Any

import uvicorn
from mcp.server.context import ServerRequestContext
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.config import ConnectSettings
from assistant.connect.mcp_server import build_mcp_server
from assistant.connect.openai_api import TOKEN_KEY, api_routes, error_response
from assistant.connect.work import Workers
from assistant.core import MAX_BODY_BYTES, Client, Loremind
from assistant.errors import ConfigError, LoremindError, UnknownTokenError

log = logging.getLogger(__name__)
CLIENT_KEY = "loremind.client"  # where the gate leaves the app of an /mcp request
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_address(settings: ConnectSettings) -> None:
    """Refuse an address beyond this computer unless the user allowed the network."""
    if not is_loopback(settings.host) and not settings.allow_network:
        raise ConfigError(
            f"Loremind listens for other apps on this computer only (127.0.0.1), not on "
            f"'{settings.host}'. To let other machines connect, set connect.allow_network = "
            "true in the settings; every app still needs its own token.")


class ConnectServer:
    """The HTTP server for other apps, on a thread of its own."""

    def __init__(self, core: Loremind, settings: ConnectSettings) -> None:
        check_address(settings)
        self.core = core
        self.settings = settings
        self._workers = Workers()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._url = ""

    @property
    def url(self) -> str:
        """Where apps reach it, e.g. ``http://127.0.0.1:8765`` (the API is under /v1); ""
        unless it is serving."""
        return self._url

    def start(self) -> str:
        """Open the port and serve; returns the URL. Raises ConfigError when the port is taken."""
        family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET
        # IPPROTO_TCP named, not 0: asyncio turns Nagle off only on sockets whose protocol says
        # TCP, and with Nagle on, a keep-alive reply (headers, then body) waited for the
        # client's delayed ACK: 45 ms per request instead of 1.5 ms, measured here.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        if os.name == "posix":  # on Windows it would let another program take the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.settings.host, self.settings.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"Loremind cannot listen on {self.settings.host}:"
                              f"{self.settings.port} ({exc.strerror}): another program may use "
                              "that port; choose another in Settings → Connections.") from exc
        sock.listen(64)
        self._socket = sock
        host, port = sock.getsockname()[:2]
        url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        config = uvicorn.Config(self._app(), log_level="warning", access_log=False,
                                lifespan="on", loop="asyncio", http="h11", ws="none",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="loremind-connect-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError("The server for other apps did not start; the log says why.")
            time.sleep(0.01)
        self._url = url
        log.info("Serving other apps at %s", url)
        return url

    def stop(self) -> None:
        """Stop answers in progress, close the port and wait for the thread (a stopped server
        does not start again: make a new one)."""
        self._workers.stop_answers()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("The server for other apps did not stop within %.0f s",
                            STOP_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._workers.close()
        self._server = self._thread = None
        self._url = ""

    def _app(self) -> ASGIApp:
        async def identify(ctx: ServerRequestContext[Any, Any]) -> Client:
            client = ctx.request.scope.get(CLIENT_KEY) if ctx.request is not None else None
            if not isinstance(client, Client):
                raise UnknownTokenError("This request carries no token of a registered app.")
            return client

        mcp = build_mcp_server(self.core, self._workers, identify)
        loopback = is_loopback(self.settings.host)
        security = TransportSecuritySettings(
            # The MCP SDK's guard against DNS rebinding (a web page that names this port);
            # beyond loopback the token alone decides, whatever name the host is called by.
            enable_dns_rebinding_protection=loopback,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"])
        app: Starlette = mcp.streamable_http_app(streamable_http_path="/mcp",
                                                 transport_security=security,
                                                 max_request_body_size=MAX_BODY_BYTES)
        for route in api_routes(self.core, self._workers):
            app.router.routes.append(route)
        return _Gate(app, self.core, self._workers)


class _Gate:
    """Lets through only requests that carry a registered app's token, naming the app."""

    def __init__(self, app: ASGIApp, core: Loremind, workers: Workers) -> None:
        self._app = app
        self._core = core
        self._workers = workers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: the MCP session manager starts and stops
            await self._app(scope, receive, send)
            return
        token = _bearer(scope)
        try:
            if not token:
                raise UnknownTokenError(
                    "Loremind needs the app's token: send 'Authorization: Bearer <token>' "
                    "(the token shown when the app was registered in Settings → Connections).")
            if scope["path"].startswith("/v1/"):
                scope[TOKEN_KEY] = token  # checked by the route, in the call that does the work
            else:
                area = self._core.connections
                scope[CLIENT_KEY] = await self._workers.call(lambda: area.authenticate(token))
        except LoremindError as exc:
            await error_response(exc)(scope, receive, send)
            return
        await self._app(scope, receive, send)


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" else ""
    return ""
