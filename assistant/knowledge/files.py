"""Which files in a watched folder count, how to walk it safely, and how to read one file.

Hidden and temporary files are never indexed; symlinked folders are followed once, and a link
that leads back into the walk is recorded as a loop instead of being followed forever. Only
regular files are read (a FIFO or a link to a device is recorded as skipped, never opened), and
a name that is not valid UTF-8 is recorded as skipped under its ``\\xNN``-escaped form: the
database stores paths as text, and one odd name must not stop a folder's indexing.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import DocumentError
from assistant.knowledge.parsers import PARSERS, Skipped
from assistant.statuses import DocumentStatus

TEMP_SUFFIXES = (".tmp", ".temp", ".swp", ".swo", ".swx", ".part", ".crdownload", ".bak", "~")
TEMP_PREFIXES = (".", "~$", "#", ".#")
UNSTORABLE_NAME = "the file name is not valid UTF-8 text; rename it to index it"
NOT_REGULAR = "not a regular file (a FIFO, socket or device): only plain files are indexed"


@dataclass(frozen=True)
class FileRules:
    """What to index: supported types, minus hidden, temporary and user-ignored files."""

    ignore: tuple[str, ...] = ()
    max_bytes: int = 50 * 1024 * 1024

    def wants(self, path: Path, folder: Path) -> bool:
        """Whether ``path`` (inside ``folder``) is a file Loremind should index."""
        return extension(path) in PARSERS and not self.ignores(path, folder)

    def ignores(self, path: Path, folder: Path) -> bool:
        """Hidden, temporary or matching an ignore pattern (by name or by path in the folder)."""
        try:
            relative = path.relative_to(folder)
        except ValueError:
            return True
        if any(part.startswith(TEMP_PREFIXES) for part in relative.parts):
            return True
        if path.name.endswith(TEMP_SUFFIXES):
            return True
        rel = relative.as_posix()
        return any(
            fnmatch.fnmatch(path.name, pattern) or fnmatch.fnmatch(rel, pattern)
            or rel.startswith(pattern.rstrip("/") + "/")
            for pattern in self.ignore
        )


@dataclass
class Scan:
    """What a walk found: files with their stat, and paths that could not be walked, with why."""

    files: dict[str, os.stat_result] = field(default_factory=dict)
    # path -> (status, reason): files seen but not readable as documents
    problems: dict[str, tuple[DocumentStatus, str]] = field(default_factory=dict)


def extension(path: Path) -> str:
    """The lower-case suffix that picks a parser (``.md``)."""
    return path.suffix.lower()


def scan(folder: Path, rules: FileRules, roots: list[Path] | None = None) -> Scan:
    """Walk ``folder`` (or only ``roots`` inside it), following symlinked folders once."""
    result = Scan()
    seen: set[tuple[int, int]] = set()
    try:
        top = folder.stat()
        seen.add((top.st_dev, top.st_ino))
    except OSError:
        return result
    for root in roots if roots is not None else [folder]:
        if root == folder:
            _walk(folder, folder, rules, result, seen)
        else:
            _visit(root, folder, rules, result, seen)
    return result


def has_storable_name(path: Path) -> bool:
    """Whether ``path`` is valid UTF-8, so the database (and search results) can hold it.

    POSIX names are bytes; Python carries undecodable ones as lone surrogates, which LanceDB
    cannot encode. Such files are recorded as skipped under :func:`display_path`, never indexed.
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_path(path: Path) -> str:
    """``path`` as storable text: undecodable bytes shown as ``\\xff`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _visit(path: Path, folder: Path, rules: FileRules, result: Scan,
           seen: set[tuple[int, int]]) -> None:
    if rules.ignores(path, folder):
        return
    if not has_storable_name(path):
        if extension(path) in PARSERS or path.is_dir():
            result.problems[display_path(path)] = (DocumentStatus.SKIPPED, UNSTORABLE_NAME)
        return
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            result.problems[str(path)] = (DocumentStatus.SKIPPED,
                                          "symlink loop: the link points to itself")
        elif path.is_symlink():
            result.problems[str(path)] = (DocumentStatus.SKIPPED,
                                          "broken symlink: its target is missing")
        elif exc.errno != errno.ENOENT:
            result.problems[str(path)] = (DocumentStatus.FAILED, f"cannot read: {exc.strerror}")
        return
    if stat.S_ISDIR(info.st_mode):
        key = (info.st_dev, info.st_ino)
        if key in seen:
            result.problems[str(path)] = (
                DocumentStatus.SKIPPED, "symlink loop: this folder is already part of the walk"
            )
            return
        seen.add(key)
        _walk(path, folder, rules, result, seen)
    elif stat.S_ISREG(info.st_mode) and extension(path) in PARSERS:
        result.files[str(path)] = info
    elif extension(path) in PARSERS:  # reading a FIFO blocks; a device never ends
        result.problems[str(path)] = (DocumentStatus.SKIPPED, NOT_REGULAR)


def _walk(directory: Path, folder: Path, rules: FileRules, result: Scan,
          seen: set[tuple[int, int]]) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as exc:
        result.problems[str(directory)] = (DocumentStatus.FAILED,
                                           f"cannot list this folder: {exc.strerror}")
        return
    for entry in entries:
        _visit(Path(entry.path), folder, rules, result, seen)


def read_document(path: Path, info: os.stat_result, max_bytes: int) -> bytes | Skipped:
    """The file's bytes, or why it is left out (Skipped); DocumentError when it can't be read."""
    if info.st_size > max_bytes:
        return Skipped(
            f"larger than the {max_bytes // (1024 * 1024)} MB limit "
            f"({info.st_size / (1024 * 1024):.1f} MB); raise knowledge.max_file_mb to include it"
        )
    try:
        # Non-blocking open, then a check on the opened file: a path swapped for a FIFO or a
        # device since the scan must not hang the indexer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with open(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return Skipped(NOT_REGULAR)
            return handle.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from exc


def content_hash(data: bytes) -> str:
    """A short, stable fingerprint of a file's content."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
