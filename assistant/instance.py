"""One running Loremind per user and data folder: a second launch hands its request over.

The running GUI listens on a local (Unix domain) socket; a second ``loremind`` or
``loremind ask --popup`` connects, sends one JSON line, waits for ``ok`` and exits. This side is
plain ``socket``: the CLI hands over without importing Qt or loading a model.

The socket lives in a folder only this user can enter (0700): ``$XDG_RUNTIME_DIR/loremind``,
or ``<tmp>/loremind-<uid>`` where there is no runtime folder. Its name carries a hash of the
data folder, so two installs (``LOREMIND_HOME``) run side by side. Windows has no ``AF_UNIX``
in Python: there a second launch opens a second window.

``loremind search`` and ``loremind ask`` may also go through the running app, which has the
model and the embedder loaded already: the command sends a :class:`Query` line and reads JSON
lines back, ``{"kind": "accepted"}`` first, one ``end`` or ``error`` last (the replies are
made in ``assistant.core.served``). When no app runs or it does not take the query, the command
does the work itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import Any, Literal

from assistant.errors import InstanceError
from assistant.paths import AppPaths, app_paths

log = logging.getLogger(__name__)
Action = Literal["show", "popup"]
ACTIONS: tuple[Action, ...] = ("show", "popup")
QueryKind = Literal["search", "ask"]
QUERY_KINDS: tuple[QueryKind, ...] = ("search", "ask")
REPLY_OK = b"ok\n"
MAX_REQUEST_BYTES = 64 * 1024
RUNTIME_ENV = "XDG_RUNTIME_DIR"
# The app takes a query at once (on its main thread); its work may then wait behind loading
# the model or the embedder, or behind an answer in the window.
ACCEPT_TIMEOUT_S = 3.0
REPLY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Request:
    """What a second launch asks of the running one: raise the window, or open quick ask."""

    action: Action
    question: str = ""

    def encode(self) -> bytes:
        """One JSON line, as sent over the socket."""
        return json.dumps({"action": self.action, "question": self.question}).encode() + b"\n"

    @classmethod
    def decode(cls, line: bytes) -> Request:
        """Parse one line; raises :class:`InstanceError` for anything that isn't a request."""
        try:
            data = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InstanceError(f"Not a Loremind request: {line[:80]!r}") from exc
        if not isinstance(data, dict) or data.get("action") not in ACTIONS:
            raise InstanceError(f"Unknown Loremind request: {line[:80]!r}")
        question = data.get("question", "")
        return cls(data["action"], question if isinstance(question, str) else "")


@dataclass(frozen=True)
class Query:
    """A command the running app does for the CLI (``search`` or ``ask``) with its arguments;
    it answers with a stream of JSON lines."""

    kind: QueryKind
    args: dict[str, Any]

    def encode(self) -> bytes:
        """One JSON line, as sent over the socket."""
        return json.dumps({"action": self.kind, "args": self.args}).encode() + b"\n"


def read_message(line: bytes) -> Request | Query:
    """Parse one line from a client: a :class:`Request` (show, popup) or a :class:`Query`
    (search, ask); raises :class:`InstanceError` for anything else."""
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InstanceError(f"Not a Loremind request: {line[:80]!r}") from exc
    if isinstance(data, dict) and data.get("action") in QUERY_KINDS:
        if not isinstance(data.get("args"), dict):
            raise InstanceError(f"A Loremind query without arguments: {line[:80]!r}")
        return Query(data["action"], data["args"])
    return Request.decode(line)


def encode_reply(reply: dict[str, Any]) -> bytes:
    """One reply to a query, as one JSON line."""
    return json.dumps(reply).encode() + b"\n"


def runtime_dir() -> Path:
    """The per-user folder for the socket, created with mode 0700 and checked to be ours."""
    base = os.environ.get(RUNTIME_ENV)
    if base and os.path.isdir(base):
        folder = Path(base) / "loremind"
    else:
        folder = Path(tempfile.gettempdir()) / f"loremind-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError as exc:
        raise InstanceError(f"Cannot create {folder} for Loremind's socket: {exc}") from exc
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise InstanceError(f"{folder} is not a folder of yours: remove it and start again.")
    if stat.S_IMODE(info.st_mode) != 0o700:
        folder.chmod(0o700)
    return folder


def socket_path(paths: AppPaths | None = None) -> Path:
    """The socket of the instance that uses ``paths`` (default: this user's folders)."""
    data_dir = str((paths or app_paths()).data_dir.resolve())
    tag = hashlib.sha256(data_dir.encode()).hexdigest()[:12]
    return runtime_dir() / f"instance-{tag}.sock"


def hand_over(request: Request, path: Path | None = None, timeout: float = 3.0) -> bool:
    """Give ``request`` to the running instance: True when it took it, False when none runs.

    Raises :class:`InstanceError` when one is listening but does not answer in time.
    """
    if not hasattr(socket, "AF_UNIX"):
        return False
    target = path or socket_path()
    if not target.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        try:
            client.connect(str(target))
        except (ConnectionRefusedError, FileNotFoundError):
            return False  # a socket left behind by an instance that crashed
        except OSError as exc:
            raise InstanceError(f"Cannot reach the running Loremind ({target}): {exc}") from exc
        try:
            client.sendall(request.encode())
            reply = _read_line(client)
        except OSError as exc:
            raise InstanceError(
                f"Loremind is running but did not answer within {timeout:g} s. Close it (or end "
                "its process) and start it again.") from exc
    if reply != REPLY_OK:
        raise InstanceError(f"The running Loremind refused the request: {reply[:80]!r}")
    return True


def query_app(query: Query, path: Path | None = None, timeout: float = ACCEPT_TIMEOUT_S,
              reply_timeout: float = REPLY_TIMEOUT_S) -> Iterator[dict[str, Any]] | None:
    """Send ``query`` to the running app: its replies (after ``accepted``, up to ``end`` or
    ``error``), or None when no app runs or it does not take the query in time, and the caller
    does the work itself. Reading the replies raises :class:`InstanceError` when the app stops
    answering half-way."""
    if not hasattr(socket, "AF_UNIX"):
        return None
    target = path or socket_path()
    if not target.exists():
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    lines = client.makefile("rb")  # buffered: replies sent right after "accepted" are kept
    try:
        client.connect(str(target))
        client.sendall(query.encode())
        first = lines.readline(MAX_REQUEST_BYTES)
    except OSError as exc:  # none listening (left behind by a crash), or one that hangs
        log.info("The running app did not take the query (%s): working alone", exc)
        first = b""
    if first != encode_reply({"kind": "accepted"}):  # an app from before queries says no
        log.info("The running app did not take the query (%r): working alone", first[:80])
        lines.close()
        client.close()
        return None
    client.settimeout(reply_timeout)
    return _replies(client, lines)


def _replies(client: socket.socket, lines: BufferedReader) -> Iterator[dict[str, Any]]:
    with client, lines:
        while True:
            try:
                line = lines.readline()
                reply = json.loads(line) if line else None
            except (OSError, ValueError) as exc:
                raise InstanceError(f"The running Loremind stopped answering ({exc}); run the "
                                    "command again.") from exc
            if not isinstance(reply, dict):
                raise InstanceError("The running Loremind closed the connection before it "
                                    "finished; run the command again.")
            yield reply
            if reply.get("kind") in ("end", "error"):
                return


def instance_running(path: Path | None = None, timeout: float = 1.0) -> bool:
    """Whether an instance listens on the socket (connects, asks for nothing)."""
    if not hasattr(socket, "AF_UNIX"):
        return False
    target = path or socket_path()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        try:
            client.connect(str(target))
        except OSError:
            return False
    return True


def _read_line(client: socket.socket) -> bytes:
    reply = b""
    while not reply.endswith(b"\n") and len(reply) < MAX_REQUEST_BYTES:
        piece = client.recv(4096)
        if not piece:
            break
        reply += piece
    return reply
