"""Files a person names (an export to write, a file to import), checked one way everywhere.

Before anything is read or written, the path is checked: a folder, a missing folder, a device,
a pipe or a socket is refused with a message that says what to give instead. Reading a FIFO
blocks and ``/dev/zero`` never ends, so only regular files are opened. A file is written to a
temporary file beside it and renamed into place, so a failure (a full disk, ``/proc``) leaves
no half-written file and any earlier file as it was; the new file is readable by its owner
only (``mkstemp``'s mode), as fits a copy of private chats and memories.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from assistant.errors import LoremindError, UserFileError


def read_user_file(path: Path, *, max_bytes: int, what: str,
                   error: type[LoremindError] = UserFileError) -> bytes:
    """The bytes of ``path``, a regular file of at most ``max_bytes`` that should hold ``what``
    ("a memory export"); raises ``error`` saying why it cannot be read."""
    path = Path(path).expanduser()
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{path} is a folder, not {what}.")
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path} is not a regular file (a device, a pipe or a socket), so not "
                        f"{what}.")
        if info.st_size > max_bytes:
            raise error(f"{path} is larger than {max_bytes // 2**20} MB; {what} is far smaller.")
        # O_NONBLOCK: a file swapped for a FIFO after the check must not block the open.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise error(f"{path} is not a regular file, so not {what}.")
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise error(f"There is no file {path}.") from exc
    except OSError as exc:
        raise error(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if len(data) > max_bytes:
        raise error(f"{path} is larger than {max_bytes // 2**20} MB; {what} is far smaller.")
    return data


def shown(path: Path | str) -> str:
    """``path`` as a person reads it: bytes of its name that are not UTF-8 written as
    ``\\xff`` (printing them as they are fails on a UTF-8 terminal)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_output_file(path: Path, example: str = "export.json",
                      keep_out: Path | None = None) -> Path:
    """``path`` made absolute, when a file can be written there: not a folder, not a device
    or pipe, inside a folder that exists and not inside ``keep_out`` (Loremind's data folder:
    erasing a chat or a memory must leave no copy there); raises :class:`UserFileError`
    otherwise."""
    path = Path(path).expanduser().absolute()
    if keep_out is not None and _inside(path, keep_out):
        raise UserFileError(f"{shown(path)} is inside Loremind's data folder ({shown(keep_out)}), "
                            "which holds only what Loremind can erase; choose another place.")
    try:
        info: os.stat_result | None = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # the folder part is checked below
        info = None
    except OSError as exc:
        raise UserFileError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UserFileError(f"{path} is a folder; give a file name inside it, such as "
                            f"{path / example}.")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise UserFileError(f"{path} is not a regular file (a device, a pipe or a socket); "
                            "give the name of a file to write.")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UserFileError(f"The folder {folder} {what}; create it or choose another place.")
    return path


def write_user_file(path: Path, text: str, example: str = "export.json",
                    keep_out: Path | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole, or not at all; returns the absolute path."""
    path = check_output_file(path, example, keep_out)
    temporary = ""
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                                 dir=path.parent)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        if temporary:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise UserFileError(f"Could not write {path}: {exc.strerror or exc}. Nothing was "
                            "written; choose another place.") from exc
    return path


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or below it, links resolved."""
    try:
        target, root = path.resolve(), Path(folder).resolve()
    except (OSError, RuntimeError):
        return False
    return target == root or root in target.parents
