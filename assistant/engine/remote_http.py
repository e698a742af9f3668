"""HTTP to an OpenAI-compatible server: retries where they are safe, SSE streams, clear errors.

Uses ``httpx2``, the HTTP client that huggingface_hub already installs (no new dependency); it
streams responses line by line and separates connect, read and protocol failures, which is what
telling "unreachable" from "cut mid-answer" needs.

Retry policy: a request is retried only before the server has sent any of the answer — when it
cannot be reached, answers 429 (after its ``Retry-After``, if that is short) or a 5xx. Once tokens
have streamed, a failure is reported, never retried: a second answer would not continue the first.

Every request runs under a :class:`~assistant.engine.remote_limits.Watch` (connect, reply, idle
and answer limits, and Stop), retries included.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

from assistant.engine.remote_limits import LimitError, Limits, Sockets, Watch
from assistant.errors import ContextOverflowError, RemoteEngineError

log = logging.getLogger(__name__)

RETRIES = 3  # attempts after the first, before any token arrived
BACKOFF_S = 0.5  # doubled on each attempt
MAX_RETRY_AFTER_S = 30.0  # a server asking to wait longer is reported, not waited for
_RETRY_STATUSES = {500, 502, 503, 504}
_CTX_PATTERNS = (
    re.compile(r"maximum context length is (\d+)"),  # llama_cpp.server, OpenAI, vLLM
    re.compile(r"context window of (\d+)"),
)


def server_root(base_url: str) -> str:
    """The server's root URL: people paste ``…/v1``; the extra endpoints live beside it."""
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise RemoteEngineError(f"'{base_url}' is not a server address; write it like "
                                "http://host:8080/v1.")
    return url.removesuffix("/v1")


class ServerClient:
    """One keep-alive connection pool to one server, with the retry policy above."""

    def __init__(self, base_url: str, api_key: str | None = None, limits: Limits | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.root = server_root(base_url)
        self.limits = limits or Limits()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx2.Client(
            base_url=self.root, headers=headers,
            # A backstop: the watch enforces the limits, reads as a whole and between pieces.
            timeout=httpx2.Timeout(max(self.limits.reply_s, self.limits.idle_s),
                                   connect=self.limits.connect_s))
        self._sockets = Sockets()
        self._sleep = sleep

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def get_json(self, path: str, *, missing_ok: bool = False) -> Any:
        """GET ``path`` as JSON; None for a 404 (or 405/501) when ``missing_ok``."""
        return self._whole("GET", path, None, None, missing_ok)

    def post_json(self, path: str, body: dict[str, Any], *, missing_ok: bool = False,
                  cancel: threading.Event | None = None) -> Any:
        """POST ``body`` to ``path`` and return the JSON reply (None for 404 when missing_ok)."""
        return self._whole("POST", path, body, cancel, missing_ok)

    @contextmanager
    def stream_events(self, path: str, body: dict[str, Any],
                      cancel: threading.Event | None = None) -> Iterator[Iterator[dict[str, Any]]]:
        """POST ``body`` and yield the server-sent events' JSON objects until ``[DONE]``.

        Leaving the block closes the connection, which is how a server learns that the answer
        was cancelled; setting ``cancel`` ends the events at once, even mid-read. An event
        stream that ends without ``[DONE]``, or passes a limit, raises
        :class:`RemoteEngineError` (the answer was cut off)."""
        limits = self.limits
        with Watch(self._sockets, total_s=limits.answer_s, first_s=limits.reply_s,
                   idle_s=limits.idle_s, cancel=cancel) as watch:
            with self._request("POST", path, body, cancel, False, watch) as response:
                assert response is not None
                yield _sse_objects(response, self.root, watch, limits)

    # -- internals ----------------------------------------------------------------------------

    def _whole(self, method: str, path: str, body: dict[str, Any] | None,
               cancel: threading.Event | None, missing_ok: bool) -> Any:
        """A request whose whole reply (retries included) must come within ``reply_s``."""
        with Watch(self._sockets, total_s=self.limits.reply_s, cancel=cancel) as watch:
            with self._request(method, path, body, cancel, missing_ok, watch) as response:
                if response is None:
                    return None
                try:
                    response.read()
                except httpx2.TransportError as exc:
                    raise _cut_error(watch, self.root, self.limits, exc) from exc
                return _json(response, self.root)

    @contextmanager
    def _request(self, method: str, path: str, body: dict[str, Any] | None,
                 cancel: threading.Event | None, missing_ok: bool,
                 watch: Watch) -> Iterator[httpx2.Response | None]:
        for attempt in range(RETRIES + 1):
            last = attempt == RETRIES
            if watch.fired or watch.cancelled:  # it passed while waiting to try again
                raise _cut_error(watch, self.root, self.limits, RemoteEngineError("limit"))
            watch.bind(None)
            request = self._client.build_request(method, path, json=body,
                                                 extensions={"trace": self._sockets.trace})
            try:
                response = self._client.send(request, stream=True)
            except httpx2.ConnectTimeout as exc:
                raise LimitError(
                    f"Could not connect to the server at {self.root} within "
                    f"{self.limits.connect_s:g} s (connect_timeout_s under [model.remote]). "
                    "Check that it is running and reachable.") from exc
            except httpx2.TimeoutException as exc:
                raise _cut_error(watch, self.root, self.limits, exc) from exc
            except httpx2.TransportError as exc:
                if watch.fired or watch.cancelled:
                    raise _cut_error(watch, self.root, self.limits, exc) from exc
                if last:
                    raise RemoteEngineError(
                        f"Cannot reach the server at {self.root} ({exc}). Check that it is "
                        "running and that the address in the settings is right.") from exc
                self._wait(BACKOFF_S * 2 ** attempt, cancel)
                continue
            watch.bind(response)
            try:
                status = response.status_code
                if status < 400:
                    yield response
                    return
                try:
                    response.read()
                except httpx2.TransportError as exc:
                    raise _cut_error(watch, self.root, self.limits, exc) from exc
                if missing_ok and status in (404, 405, 501):
                    yield None
                    return
                delay = _retry_delay(response, attempt)
                if delay is None or last or _cancelled(cancel):
                    raise _status_error(response, self.root)
                log.info("%s %s: %s, retrying in %.1f s", method, path, status, delay)
            finally:
                response.close()
            self._wait(delay, cancel)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, seconds: float, cancel: threading.Event | None) -> None:
        if cancel is not None:
            cancel.wait(seconds)
        else:
            self._sleep(seconds)


def _cancelled(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


class Cancelled(RemoteEngineError):
    """The answer was stopped (Stop, Ctrl+C) while the server was still being waited for."""


def _cut_error(watch: Watch, root: str, limits: Limits, exc: Exception) -> RemoteEngineError:
    """The error for a request that failed to read: the limit that cut it, or the timeout."""
    if watch.fired == "cancelled" or watch.cancelled:
        return Cancelled("Stopped before the server finished.")
    if watch.fired == "total" and watch.idle_s is not None:
        return LimitError(
            f"The answer from {root} took longer than {limits.answer_s:g} s "
            "(answer_timeout_s under [model.remote]) and was stopped; the partial answer was "
            "not kept. Ask for a shorter answer, or raise answer_timeout_s.")
    if watch.fired == "idle":
        return LimitError(
            f"The server at {root} sent nothing for {limits.idle_s:g} s in the middle of the "
            "answer (idle_timeout_s under [model.remote]); the partial answer was not kept. "
            "Ask again, or raise idle_timeout_s.")
    if watch.fired in ("first", "total") or isinstance(exc, httpx2.TimeoutException):
        return LimitError(
            f"The server at {root} did not answer within {limits.reply_s:g} s (timeout_s "
            "under [model.remote]). It may be busy or overloaded; try again, or raise "
            "timeout_s.")
    return RemoteEngineError(f"The connection to {root} broke ({exc}). Ask again.")


def _retry_delay(response: httpx2.Response, attempt: int) -> float | None:
    """Seconds to wait before trying again, or None when trying again would not help."""
    status = response.status_code
    if status == 429:
        wait = _retry_after(response.headers.get("retry-after"))
        wait = BACKOFF_S * 2 ** attempt if wait is None else wait
        return wait if wait <= MAX_RETRY_AFTER_S else None
    if status in _RETRY_STATUSES:
        return BACKOFF_S * 2 ** attempt
    return None


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _status_error(response: httpx2.Response, root: str) -> Exception:
    """The error a person should see for an HTTP error status."""
    status = response.status_code
    detail = _error_detail(response)
    if status in (401, 403):
        return RemoteEngineError(
            f"The server at {root} refused the request ({status}: {detail}). Store its API key "
            f"with `loremind remote key {root}/v1`.")
    if status == 429:
        wait = _retry_after(response.headers.get("retry-after"))
        after = f" It asks to wait {wait:.0f} s." if wait is not None else ""
        return RemoteEngineError(f"The server at {root} is busy (429: too many requests).{after} "
                                 "Try again later.")
    overflow = _context_overflow(response, detail)
    if overflow is not None:
        return overflow
    if status >= 500:
        return RemoteEngineError(f"The server at {root} failed ({status}: {detail}), also when "
                                 "asked again. Its log says why; try again later.")
    return RemoteEngineError(f"The server at {root} rejected the request ({status}: {detail}).")


def _context_overflow(response: httpx2.Response, detail: str) -> ContextOverflowError | None:
    """The server's own words for "the prompt does not fit", as our error with its numbers."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if isinstance(error, dict) and "n_ctx" in error:  # llama.cpp's llama-server
        return ContextOverflowError(int(error.get("n_prompt_tokens") or 0), int(error["n_ctx"]))
    for pattern in _CTX_PATTERNS:
        match = pattern.search(detail)
        if match:
            needed = re.search(r"requested (\d+) tokens|Requested tokens \((\d+)\)", detail)
            count = next((int(g) for g in needed.groups() if g), 0) if needed else 0
            return ContextOverflowError(count, int(match.group(1)))
    return None


def _error_detail(response: httpx2.Response) -> str:
    """The server's explanation: OpenAI-style ``error.message``, FastAPI ``detail``, or text."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if "detail" in data:
            return str(data["detail"])
    return json.dumps(data)[:300]


def _json(response: httpx2.Response, root: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise RemoteEngineError(f"The server at {root} sent a reply that is not JSON "
                                f"({response.text[:120]!r}). Is the address an OpenAI-compatible "
                                "server?") from exc


def _sse_objects(response: httpx2.Response, root: str, watch: Watch,
                 limits: Limits) -> Iterator[dict[str, Any]]:
    """The JSON objects of a server-sent event stream, in order, up to ``[DONE]``; each one
    counts as progress for ``watch`` (a keep-alive comment does not)."""
    data: list[str] = []
    try:
        for line in response.iter_lines():
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
                continue
            if line or not data:
                continue  # comments (": ping"), event names, or a blank line between events
            payload, data = "\n".join(data), []
            if payload.strip() == "[DONE]":
                return
            watch.progress()
            yield _event_object(payload, root)
        if data and "\n".join(data).strip() == "[DONE]":
            return
    except httpx2.TimeoutException as exc:
        raise _cut_error(watch, root, limits, exc) from exc
    except httpx2.TransportError as exc:
        if watch.fired:
            raise _cut_error(watch, root, limits, exc) from exc
        raise RemoteEngineError(f"The connection to {root} broke mid-answer ({exc}); the partial "
                                "answer was not kept. Ask again.") from exc
    if watch.fired:  # the cut came between two reads: the stream just ended
        raise _cut_error(watch, root, limits, RemoteEngineError("cut"))
    raise RemoteEngineError(f"The server at {root} ended the answer without finishing it (the "
                            "stream stopped before [DONE]); the partial answer was not kept. "
                            "Ask again.")


def _event_object(payload: str, root: str) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise RemoteEngineError(f"The server at {root} sent a malformed chunk ({payload[:80]!r}); "
                                "the partial answer was not kept. Ask again.") from exc
    if not isinstance(event, dict):
        raise RemoteEngineError(f"The server at {root} sent a malformed chunk ({payload[:80]!r}).")
    error = event.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise RemoteEngineError(f"The server at {root} failed mid-answer: {message}. The partial "
                                "answer was not kept.")
    return event
