"""The download worker: a child process that fetches one model file from the Hugging Face hub.

Started as ``loremind models download-worker`` (hidden); it reads one JSON request line on stdin
and writes JSON event lines on stdout (``metadata``, ``progress``, ``verifying``, ``done`` or
``error``).

Why a child process: Loremind forces ``HF_HUB_OFFLINE=1`` so that the embedder can never reach
the network, and huggingface_hub checks that flag for every request of the process. The child
alone runs online; the app keeps its offline guarantee while a download runs. Cancelling is
ending the child; the part already written stays for a resume. The child exits when its stdin
closes, so killing the app (or ``loremind models pull``) never leaves it downloading.

Why not ``hf_hub_download``: in huggingface_hub 2.4 it writes each attempt to a temporary file
that it deletes on failure (no resume after an interruption or a restart) and checks only the
size. The worker drives the hub's own pieces instead (``hf_hub_url``, ``get_hf_file_metadata``,
``build_hf_headers``, ``http_get`` with its retries, Range requests and error types) around a
partial file it keeps, then checks the sha256 the hub publishes as the LFS ETag.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assistant.models.errors import (
    AccessDeniedError,
    ChecksumError,
    ConnectionLostError,
    DiskFullError,
    DownloadError,
    OfflineError,
    RemoteFileMissingError,
    TokenRequiredError,
)

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# huggingface_hub reads 10 MiB per chunk; 1 MiB gives a live progress bar on slow links and
# loses at most 1 MiB when the process is killed.
CHUNK_BYTES = 1024 * 1024
PROGRESS_INTERVAL_S = 0.2
DISK_MARGIN_BYTES = 64 * 1024 * 1024
Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class FetchRequest:
    """One file to fetch, where to keep its partial download, and how to authenticate."""

    repo: str
    file: str
    revision: str
    endpoint: str
    partial_dir: str
    token: str | None = None


def partial_path(partial_dir: Path, repo: str, file: str, etag: str) -> Path:
    """The partial download of ``repo/file`` at version ``etag`` (a new version starts over)."""
    return partial_dir / f"{partial_stem(repo, file)}.{etag[:16]}.part"


def partial_stem(repo: str, file: str) -> str:
    """The part of a partial file's name that names the model, whatever its version."""
    return f"{repo.replace('/', '--')}--{file}"


def fetch(request: FetchRequest, emit: Emit) -> None:
    """Download the file to its partial path, verify its sha256 and report ``done``."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    constants.DOWNLOAD_CHUNK_SIZE = CHUNK_BYTES
    token: str | bool = request.token or False  # False: never the hub's own token file
    url = hf_hub_url(request.repo, request.file, revision=request.revision,
                     endpoint=request.endpoint)
    with _mapped_errors(request, downloading=False):
        meta = get_hf_file_metadata(url, token=token, endpoint=request.endpoint)
    etag = (meta.etag or meta.commit_hash or "unversioned").strip('"')
    expected_sha = etag if SHA256.match(etag) else None
    folder = Path(request.partial_dir)
    folder.mkdir(parents=True, exist_ok=True)
    part = partial_path(folder, request.repo, request.file, etag)
    for stale in folder.glob(f"{partial_stem(request.repo, request.file)}.*.part"):
        if stale != part:  # the hub has a new version of the file: the old part is useless
            stale.unlink(missing_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if meta.size is not None and have > meta.size:
        part.unlink()
        have = 0
    emit({"event": "metadata", "size": meta.size, "sha256": expected_sha,
          "commit": meta.commit_hash, "resumed_from": have})
    if meta.size is not None:
        _check_free_space(folder, meta.size - have)
    headers = build_hf_headers(token=token)
    location = meta.location or url
    if urlsplit(location).netloc != urlsplit(url).netloc:
        headers.pop("authorization", None)  # a CDN's signed URL must not receive the token
    reporter = _progress_class(emit)
    with _mapped_errors(request, downloading=True, part=part), part.open("ab") as out:
        if meta.size is None or have < meta.size:
            http_get(location, out, resume_size=have, headers=headers, expected_size=meta.size,
                     tqdm_class=reporter)
    emit({"event": "verifying"})
    actual = _sha256(part)
    if expected_sha is not None and actual != expected_sha:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{request.file} arrived damaged: its checksum does not match the one Hugging Face "
            "published, so it was deleted. Download it again; if it fails again, the mirror or "
            "a proxy is altering the file.")
    emit({"event": "done", "path": str(part), "sha256": actual, "commit": meta.commit_hash,
          "size": part.stat().st_size})


def _check_free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed + DISK_MARGIN_BYTES:
        raise DiskFullError(
            f"Not enough disk space: the model needs {needed / 1e9:.2f} GB more and "
            f"{folder} has {free / 1e9:.2f} GB free. Free some space and try again.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _progress_class(emit: Emit) -> Any:
    """A stand-in for the tqdm class huggingface_hub drives: it reports bytes as events."""

    class Reporter:
        def __init__(self, *, total: int | None = None, initial: int = 0, **_: Any) -> None:
            self.total = total
            self.done = initial
            self._last = 0.0
            self._send(force=True)

        def update(self, n: int = 1) -> None:
            self.done += n  # negative when the server ignored a Range request
            self._send()

        def _send(self, force: bool = False) -> None:
            now = time.monotonic()
            if force or now - self._last >= PROGRESS_INTERVAL_S:
                self._last = now
                emit({"event": "progress", "done": self.done, "total": self.total})

        def close(self) -> None:
            self._send(force=True)

        def __enter__(self) -> Reporter:
            return self

        def __exit__(self, *_: object) -> None:
            self.close()

    return Reporter


@contextmanager
def _mapped_errors(request: FetchRequest, *, downloading: bool,
                   part: Path | None = None) -> Iterator[None]:
    """Turn huggingface_hub, httpx and OS errors into Loremind's download errors."""
    try:
        yield
    except DownloadError:
        raise
    except Exception as exc:
        raise _translate(exc, request, downloading, part) from exc


def _translate(exc: Exception, request: FetchRequest, downloading: bool,
               part: Path | None) -> DownloadError:
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    host = urlsplit(request.endpoint).netloc or request.endpoint
    page = f"{request.endpoint.rstrip('/')}/{request.repo}"
    token_hint = ("Add your Hugging Face token on the Models page (Hugging Face token…) or "
                  "with: loremind models token set")
    status = exc.response.status_code if isinstance(exc, HfHubHTTPError) else None
    if isinstance(exc, GatedRepoError):
        if status == 403:
            return AccessDeniedError(
                f"{request.repo} is gated and your token's account has no access yet. Accept "
                f"its licence at {page}, then try again.")
        if not request.token:
            return TokenRequiredError(
                f"{request.repo} needs a Hugging Face token (it is gated: accept its licence "
                f"at {page} first). {token_hint}")
    if isinstance(exc, (RevisionNotFoundError, RemoteEntryNotFoundError)) or status == 404:
        return RemoteFileMissingError(
            f"Hugging Face has no file {request.file} in {request.repo} (revision "
            f"{request.revision}). The catalogue may be out of date; update Loremind.")
    if isinstance(exc, RepositoryNotFoundError) and not isinstance(exc, GatedRepoError):
        return RemoteFileMissingError(
            f"Hugging Face did not find the repository {request.repo}, or it is private. "
            f"Check the name; for a private model, {token_hint[0].lower()}{token_hint[1:]}.")
    if status == 401:
        if request.token:
            return TokenRequiredError(f"Hugging Face refused your token for {request.repo}. "
                                      f"Check it at {request.endpoint}/settings/tokens. "
                                      f"{token_hint}")
        return TokenRequiredError(f"{request.repo} needs a Hugging Face token. {token_hint}")
    if status == 403:
        return AccessDeniedError(f"Hugging Face denied your account access to {request.repo}. "
                                 f"Check its page, {page}.")
    if isinstance(exc, HfHubHTTPError):
        return DownloadError(f"Hugging Face answered with an error ({status}) for "
                             f"{request.repo}: try again later.")
    kept = part.stat().st_size if part is not None and part.exists() else 0
    if isinstance(exc, (httpx2.TransportError, OfflineModeIsEnabled, ConnectionError)):
        if downloading:
            return ConnectionLostError(
                f"The connection to {host} was lost during the download ({kept / 1e6:.0f} MB "
                "kept). Run the download again to resume where it stopped.")
        return OfflineError(
            f"You are offline: Loremind could not reach {host}. Models you already have keep "
            "working; download this one when you are connected.")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        if part is not None:
            part.unlink(missing_ok=True)
        return DiskFullError(f"The disk filled up while downloading {request.file}, so the "
                             "partial file was removed. Free some space and try again.")
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return ConnectionLostError(
            f"The download of {request.file} ended early ({kept / 1e6:.0f} MB kept). Run it "
            "again to resume.")
    return DownloadError(f"The download of {request.file} failed: {exc}")


def _watch_parent() -> None:
    """End this process when the parent goes away (its end of our stdin closes)."""
    # The raw descriptor, not sys.stdin: a daemon thread blocked inside a buffered reader
    # aborts the interpreter at exit.
    while os.read(0, 4096):
        pass
    os._exit(3)


def main() -> int:
    """Read a request, fetch the file, report events; the exit status is 0 on success."""
    # Ctrl+C in a terminal reaches the whole process group: the parent handles it and closes
    # our stdin, which ends us quietly (no second traceback from this process).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    request = FetchRequest(**json.loads(sys.stdin.buffer.readline()))
    threading.Thread(target=_watch_parent, name="loremind-download-parent", daemon=True).start()
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        with lock:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()

    try:
        fetch(request, emit)
    except DownloadError as exc:
        emit({"event": "error", "kind": exc.kind, "message": str(exc)})
        return 1
    except Exception as exc:  # the parent must always hear why, never a bare exit status
        emit({"event": "error", "kind": "download", "message": f"The download failed: {exc}"})
        return 1
    return 0
