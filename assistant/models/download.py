"""Running one model download in the worker process, with progress, speed, time left and cancel.

The worker (:mod:`assistant.models.worker`) does the network part; this side starts it with the
hub allowed, reads its events, turns byte counts into speed and time left, and stops it on
cancel (what it wrote stays on disk, so the next pull resumes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from assistant.models.errors import ERROR_KINDS, DownloadError
from assistant.models.worker import FetchRequest

DEFAULT_ENDPOINT = "https://huggingface.co"
SPEED_WINDOW_S = 5.0


@dataclass(frozen=True)
class Progress:
    """Where a download stands; ``phase`` is connecting, downloading or verifying."""

    phase: str
    done: int
    total: int | None
    bytes_per_s: float
    seconds_left: float | None

    @property
    def fraction(self) -> float | None:
        """Share downloaded, 0–1, when the size is known."""
        return min(1.0, self.done / self.total) if self.total else None

    def describe(self) -> str:
        """``412 MB of 986 MB · 23.4 MB/s · 25 s left`` (or the phase while not downloading)."""
        if self.phase == "verifying":
            return "Verifying the checksum…"
        if self.phase == "connecting":
            return "Connecting…"
        size = f"{self.done / 1e6:.0f} MB"
        if self.total:
            size += f" of {self.total / 1e6:.0f} MB"
        parts = [size]
        if self.bytes_per_s > 0:
            parts.append(f"{self.bytes_per_s / 1e6:.1f} MB/s")
        if self.seconds_left is not None:
            parts.append(f"{format_duration(self.seconds_left)} left")
        return " · ".join(parts)


@dataclass(frozen=True)
class Fetched:
    """A downloaded, checksum-verified file waiting to be checked and moved into place."""

    path: Path
    sha256: str
    commit: str | None
    size: int


def hub_endpoint() -> str:
    """The hub to download from: ``HF_ENDPOINT`` when set (mirrors, tests), else huggingface.co."""
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def worker_command() -> list[str]:
    """How to start the worker: the hidden ``models download-worker`` command, through this
    Python, or through the bundle's own executable in a PyInstaller build."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "models", "download-worker"]
    return [sys.executable, "-m", "assistant", "models", "download-worker"]


def format_duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``1 h 05 min``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class DownloadJob:
    """One download in a worker process; ``run`` blocks, ``cancel`` may come from any thread."""

    def __init__(self, request: FetchRequest,
                 on_progress: Callable[[Progress], None] | None = None,
                 cache_dir: Path | None = None, cancel: threading.Event | None = None) -> None:
        self.request = request
        self.on_progress = on_progress or (lambda _p: None)
        self.cache_dir = cache_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._cancelled = threading.Event()
        self._outside_cancel = cancel
        self._samples: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop the download; the part written so far is kept for the next attempt."""
        self._cancelled.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()

    def run(self) -> Fetched | None:
        """Download; the verified file, or None when cancelled. Failures raise DownloadError."""
        self.on_progress(Progress("connecting", 0, None, 0.0, None))
        with self._lock:
            if self._cancelled.is_set():
                return None
            try:
                self._process = subprocess.Popen(worker_command(), stdin=subprocess.PIPE,
                                                 stdout=subprocess.PIPE, env=self._worker_env())
            except OSError as exc:
                raise DownloadError(f"Could not start the download ({exc.strerror or exc}). "
                                    "Reinstall Loremind if this goes on.") from exc
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        if self._outside_cancel is not None:
            # Ends with the download: it stops the worker when the caller cancels.
            threading.Thread(target=self._follow_cancel, args=(self._outside_cancel, process),
                             name="loremind-download-cancel", daemon=True).start()
        try:
            process.stdin.write((json.dumps(asdict(self.request)) + "\n").encode())
            process.stdin.flush()  # stdin stays open: the worker ends when we do
            result = self._read_events(process.stdout)
        finally:
            process.stdin.close()
            process.wait()
        if self._cancelled.is_set():
            return None
        if result is None:
            raise DownloadError(f"The download worker stopped unexpectedly (exit status "
                                f"{process.returncode}). Try again; the log may say more.")
        return result

    def _follow_cancel(self, cancel: threading.Event, process: subprocess.Popen[bytes]) -> None:
        """Cancel when ``cancel`` is set (an app shutting down), until the worker ends."""
        while process.poll() is None:
            if cancel.wait(0.2):
                self.cancel()
                return

    def _read_events(self, stream: IO[bytes]) -> Fetched | None:
        total: int | None = None
        for line in stream:
            try:
                event: dict[str, Any] = json.loads(line)
            except ValueError:
                continue  # a library printed something: not ours
            kind = event.get("event")
            if kind == "metadata":
                total = event.get("size")
            elif kind == "progress":
                self.on_progress(self._progress(int(event["done"]), event.get("total") or total))
            elif kind == "verifying":
                self.on_progress(Progress("verifying", total or 0, total, 0.0, None))
            elif kind == "done":
                return Fetched(Path(event["path"]), event["sha256"], event.get("commit"),
                               int(event["size"]))
            elif kind == "error" and not self._cancelled.is_set():
                raise ERROR_KINDS.get(event.get("kind", ""), DownloadError)(event["message"])
        return None

    def _progress(self, done: int, total: int | None) -> Progress:
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > SPEED_WINDOW_S:
            self._samples.popleft()
        first_t, first_done = self._samples[0]
        speed = (done - first_done) / (now - first_t) if now > first_t else 0.0
        left = (total - done) / speed if total and speed > 0 else None
        return Progress("downloading", done, total, max(0.0, speed), left)

    def _worker_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["HF_HUB_OFFLINE"] = "0"  # the one process allowed online, for this user request
        env.pop("TRANSFORMERS_OFFLINE", None)
        env["HF_HUB_DISABLE_TELEMETRY"] = "1"
        env.pop("HF_TOKEN", None)  # only the token Loremind was given is sent
        if self.cache_dir is not None:  # the hub's own files stay inside Loremind's folders
            env["HF_HOME"] = str(self.cache_dir / "huggingface")
        return env
