"""A small Hugging Face hub on 127.0.0.1 for tests: the file endpoints huggingface_hub uses.

It answers ``HEAD``/``GET /{repo}/resolve/{revision}/{file}`` with the headers the client
reads (``X-Repo-Commit``, ``ETag`` and ``X-Linked-Etag`` carrying the sha256 of LFS files,
``X-Linked-Size``, ``Content-Length``), honours ``Range: bytes=N-`` with a 206, and answers
errors with the hub's ``X-Error-Code`` header. It can throttle, serve damaged bytes under the
right checksum, gate a repository behind a token, and vanish in the middle of a file.
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)$")
COMMIT = "0123456789abcdef0123456789abcdef01234567"
PIECE = 64 * 1024


@dataclass
class HubFile:
    data: bytes
    sha256: str
    corrupt: bool = False
    token: str | None = None  # gated: only this token may download


@dataclass
class Seen:
    method: str
    path: str
    range: str | None
    authorization: str | None


@dataclass
class FakeHub:
    """The server; ``url`` is what HF_ENDPOINT should be set to."""

    throttle_bytes_per_s: float | None = None
    vanish_after_bytes: int | None = None
    files: dict[tuple[str, str], HubFile] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sent = 0
        self._gone = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, repo: str, file: str, data: bytes, *, corrupt: bool = False,
            token: str | None = None) -> HubFile:
        """Serve ``data`` as ``repo/file``; ``corrupt`` flips a byte but keeps the checksum."""
        item = HubFile(data, hashlib.sha256(data).hexdigest(), corrupt, token)
        self.files[(repo, file)] = item
        return item

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go away: refuse new connections and cut the ones in flight."""
        self._gone.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def ranges(self) -> list[str]:
        """The Range headers of the GET requests received."""
        return [s.range for s in self.seen if s.method == "GET" and s.range]


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            hub.seen.append(Seen(self.command, self.path, self.headers.get("Range"),
                                 self.headers.get("Authorization")))
            match = RESOLVE.match(self.path.split("?")[0])
            if match is None:
                return self._error(404, "RepoNotFound", "Not a resolve URL")
            repo, file = match["repo"], match["file"]
            if not any(r == repo for r, _f in hub.files):
                return self._error(401, "RepoNotFound", "Repository not found")
            item = hub.files.get((repo, file))
            if item is None:
                return self._error(404, "EntryNotFound", "Entry not found")
            if item.token is not None:
                given = self.headers.get("Authorization")
                if given is None:
                    return self._error(401, "GatedRepo", f"Access to model {repo} is restricted.")
                if given != f"Bearer {item.token}":
                    return self._error(401, None, "Invalid credentials in Authorization header")
            data = item.data
            if item.corrupt:
                middle = len(data) // 2
                data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]
            start = 0
            wanted = self.headers.get("Range")
            if wanted and body:
                start = int(re.match(r"bytes=(\d+)-", wanted)[1])  # type: ignore[index]
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{item.sha256}"')
            self.send_header("X-Linked-Etag", f'"{item.sha256}"')
            self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if body:
                self._send(data[start:])

        def _send(self, data: bytes) -> None:
            began = time.monotonic()
            sent = 0
            try:
                for offset in range(0, len(data), PIECE):
                    if hub._gone.is_set():
                        break
                    piece = data[offset:offset + PIECE]
                    if hub.vanish_after_bytes is not None and \
                            hub._sent + len(piece) > hub.vanish_after_bytes:
                        threading.Thread(target=hub.stop, daemon=True).start()
                        break
                    self.wfile.write(piece)
                    sent += len(piece)
                    hub._sent += len(piece)
                    if hub.throttle_bytes_per_s:
                        ahead = sent / hub.throttle_bytes_per_s - (time.monotonic() - began)
                        if ahead > 0:
                            time.sleep(ahead)
            except (BrokenPipeError, ConnectionResetError):
                return
            if hub._gone.is_set() or sent < len(data):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def _error(self, status: int, code: str | None, message: str) -> None:
            self.send_response(status)
            self.send_header("X-Repo-Commit", COMMIT)
            if code:
                self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Type", "application/json")
            payload = f'{{"error": "{message}"}}'.encode()
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

    return Handler
