"""The running app's end of the single-instance socket (the client is :mod:`assistant.instance`).

A ``QLocalServer`` with ``UserAccessOption`` listens on a path in a folder only this user can
enter; each connection carries one JSON line, answered ``ok`` once it has been handed to the app,
or, for a query of the command line (search, ask), by reply lines until the app has done it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from assistant.errors import InstanceError
from assistant.instance import (
    MAX_REQUEST_BYTES,
    REPLY_OK,
    Query,
    Request,
    encode_reply,
    hand_over,
    instance_running,
    read_message,
)
from ui.qt import QLocalServer, QLocalSocket, QObject, Signal

log = logging.getLogger(__name__)


class QueryReply:
    """The open connection of one query: replies are written on the main thread, and a client
    that hangs up (Ctrl+C) sets ``cancel`` so that the work stops."""

    def __init__(self, connection: QLocalSocket) -> None:
        self.connection: QLocalSocket | None = connection
        self.cancel = threading.Event()

    def send(self, reply: dict[str, Any]) -> None:
        """Write one reply (main thread only); nothing once the client has gone."""
        if self.connection is not None:
            self.connection.write(encode_reply(reply))
            self.connection.flush()

    def finish(self) -> None:
        """Close the connection once the replies are written (main thread only)."""
        if self.connection is not None:
            self.connection.disconnectFromServer()

    def gone(self) -> None:
        """The client hung up or the server closed: stop writing, stop the work."""
        self.connection = None
        self.cancel.set()


class InstanceServer(QObject):
    """Listens for second launches and emits what they ask for."""

    requested = Signal(object)  # a Request, on the main thread
    queried = Signal(object, object)  # a Query and its QueryReply, on the main thread

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._connections: set[QLocalSocket] = set()
        self._queries: dict[QLocalSocket, QueryReply] = {}

    def listen(self, request: Request | None) -> bool:
        """Listen on the socket; False when another instance already does (and took
        ``request``, if any). A socket left behind by a crashed instance is removed first."""
        if self.server.listen(str(self.path)):
            return True
        try:
            if (hand_over(request, self.path) if request is not None
                    else instance_running(self.path)):
                return False
        except InstanceError:
            log.warning("An instance holds %s but does not answer; taking it over", self.path)
        QLocalServer.removeServer(str(self.path))
        if not self.server.listen(str(self.path)):
            log.warning("Cannot listen on %s: %s", self.path, self.server.errorString())
        return True

    @property
    def listening(self) -> bool:
        return self.server.isListening()

    def close(self) -> None:
        """Stop listening, drop open connections and remove the socket file."""
        for connection in list(self._connections):
            self._drop(connection)
        if self.server.isListening():
            self.server.close()

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            connection = self.server.nextPendingConnection()
            connection.setParent(None)  # owned here, freed in _drop, never by the server
            self._connections.add(connection)
            connection.readyRead.connect(self._read_ready)
            connection.disconnected.connect(self._disconnected)

    def _read_ready(self) -> None:
        connection = self.sender()
        if isinstance(connection, QLocalSocket) and connection in self._connections:
            self._read(connection)

    def _disconnected(self) -> None:
        connection = self.sender()
        if isinstance(connection, QLocalSocket) and connection in self._connections:
            self._drop(connection)

    def _drop(self, connection: QLocalSocket) -> None:
        self._connections.discard(connection)
        reply = self._queries.pop(connection, None)
        if reply is not None:
            reply.gone()
        connection.readyRead.disconnect(self._read_ready)
        connection.disconnected.disconnect(self._disconnected)
        connection.abort()
        connection.deleteLater()

    def _read(self, connection: QLocalSocket) -> None:
        if connection.bytesAvailable() > MAX_REQUEST_BYTES:
            self._drop(connection)
            return
        if not connection.canReadLine():
            return
        if connection in self._queries:
            return  # one query a connection: more lines are not read
        line = bytes(connection.readLine().data())
        try:
            message = read_message(line.strip())
        except InstanceError as exc:
            log.warning("%s", exc)
            connection.write(b"refused\n")
        else:
            if isinstance(message, Query):
                reply = self._queries[connection] = QueryReply(connection)
                reply.send({"kind": "accepted"})
                self.queried.emit(message, reply)
                return
            self.requested.emit(message)
            connection.write(REPLY_OK)
        connection.flush()
        connection.disconnectFromServer()
