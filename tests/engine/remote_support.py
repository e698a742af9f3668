"""Real servers on 127.0.0.1 for the remote-engine tests, and an in-memory keyring.

``llama_cpp.server`` (llama-cpp-python's own OpenAI-compatible server) runs the embedded model in a
child process; :class:`StubServer` answers only the error shapes that server cannot be made to
produce (429 with Retry-After, 500s, a malformed chunk, a stream cut mid-answer).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in this process only (tests must not touch the real one)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1, started and stopped by a test."""

    def __init__(self, model: Path, n_ctx: int = 2048, lora: Path | None = None,
                 api_key: str | None = None, threads: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
                "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx),
                "--n_threads", str(threads), "--n_threads_batch", str(threads),
                "--verbose", "false"]
        if lora is not None:
            args += ["--lora_path", str(lora)]
        if api_key:
            args += ["--api_key", api_key]
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, env=env)
        self._wait_ready(api_key)

    def _wait_ready(self, api_key: str | None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"llama_cpp.server exited: {err[-2000:]}")
            try:
                if httpx2.get(f"{self.url}/models", headers=headers, timeout=2).status_code < 500:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("llama_cpp.server did not start within 90 s")

    def stop(self) -> None:
        """Kill the server process (like a crash: no goodbye to clients)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        if self.process.stderr:
            self.process.stderr.close()


Handler = Callable[[BaseHTTPRequestHandler, dict[str, Any]], None]


class StubServer:
    """A tiny HTTP server whose reply to each POST is chosen by the test, for error shapes a
    real server cannot be made to produce on demand."""

    def __init__(self, models: list[str] | None = None) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.replies: list[Handler] = []
        stub = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path == "/v1/models":
                    send_json(self, 200, {"data": [{"id": m} for m in models or ["stub"]]})
                else:
                    send_json(self, 404, {"detail": "Not Found"})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append((self.path, body))
                if not self.path.startswith("/v1/chat") or not stub.replies:
                    send_json(self, 404, {"detail": "Not Found"})
                    return
                stub.replies.pop(0)(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send_json(handler: BaseHTTPRequestHandler, status: int, data: Any,
              headers: dict[str, str] | None = None) -> None:
    """Reply with ``data`` as JSON."""
    raw = json.dumps(data).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(raw)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(raw)


def send_events(handler: BaseHTTPRequestHandler, chunks: list[str], done: bool = True) -> None:
    """Reply with a server-sent event stream of the raw ``chunks`` (then [DONE] if ``done``);
    the connection closes at the end, as a server that died would close it."""
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.send_header("connection", "close")
    handler.end_headers()
    for chunk in chunks + (["[DONE]"] if done else []):
        handler.wfile.write(f"data: {chunk}\n\n".encode())
        handler.wfile.flush()
    handler.close_connection = True


def delta(text: str, finish: str | None = None) -> str:
    """One chat-completion chunk carrying ``text``."""
    return json.dumps({"choices": [{"index": 0, "delta": {"content": text},
                                    "finish_reason": finish}]})


class HostileServer:
    """An OpenAI-compatible server on 127.0.0.1 that misbehaves in one way (``behaviour``):

    ``forever`` streams tokens without end, ``pings`` sends only keep-alive comments,
    ``tokens-then-pings`` a few tokens and then only comments, ``trickle`` the bytes of an
    answer one every ``pace_s`` (slowloris), ``trickle-headers`` its status line and headers so,
    ``silent`` never replies, ``slow-models`` trickles its model list. Token counting and usage
    requests are answered plainly, so only the answer (or the model list) misbehaves.
    """

    BEHAVIOURS = ("forever", "pings", "tokens-then-pings", "trickle", "trickle-headers",
                  "silent", "slow-models")

    def __init__(self, behaviour: str, pace_s: float = 0.3) -> None:
        assert behaviour in self.BEHAVIOURS, behaviour
        self.behaviour = behaviour
        self.stopping = threading.Event()
        hostile = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path != "/v1/models":
                    send_json(self, 404, {"detail": "Not Found"})
                elif behaviour == "slow-models":
                    hostile._trickle(self, b'{"data": [{"id": "hostile"}]}' * 1000, pace_s)
                else:
                    send_json(self, 200, {"data": [{"id": "hostile", "max_model_len": 4096}]})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.startswith("/v1/chat"):
                    send_json(self, 404, {"detail": "Not Found"})
                elif not body.get("stream"):  # the token counter measuring the template
                    send_json(self, 200, {"usage": {"prompt_tokens": 12}, "choices": [
                        {"message": {"content": "x"}, "finish_reason": "length"}]})
                else:
                    hostile._misbehave(self, behaviour, pace_s)

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving; handlers still looping end at their next write or tick."""
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def _misbehave(self, handler: BaseHTTPRequestHandler, behaviour: str, pace_s: float) -> None:
        head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"connection: close\r\n\r\n")
        try:
            if behaviour == "silent":
                self.stopping.wait()
                return
            if behaviour == "trickle-headers":
                self._trickle(handler, head + b"data: " + delta("hi").encode(), pace_s)
                return
            handler.wfile.write(head)
            handler.wfile.flush()
            if behaviour == "trickle":
                self._trickle(handler, b"data: " + delta("trickled").encode() * 100, pace_s)
            elif behaviour == "forever":
                while not self.stopping.is_set():
                    handler.wfile.write(f"data: {delta('la ')}\n\n".encode())
                    handler.wfile.flush()
                    time.sleep(0.01)
            else:
                if behaviour == "tokens-then-pings":
                    for word in ("Hello", " there"):
                        handler.wfile.write(f"data: {delta(word)}\n\n".encode())
                handler.wfile.flush()
                while not self.stopping.wait(pace_s):
                    handler.wfile.write(b": ping\n\n")
                    handler.wfile.flush()
        except OSError:
            pass  # the client cut the connection: what a limit or Stop does
        handler.close_connection = True

    def _trickle(self, handler: BaseHTTPRequestHandler, data: bytes, pace_s: float) -> None:
        """Send ``data`` a byte at a time, one every ``pace_s``: each read gets something."""
        try:
            if not data.startswith(b"HTTP/"):
                handler.send_response(200)
                handler.send_header("content-type", "application/json")
                handler.send_header("content-length", str(len(data)))
                handler.end_headers()
            for byte in data:
                if self.stopping.wait(pace_s):
                    return
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
        except OSError:
            pass
        handler.close_connection = True
