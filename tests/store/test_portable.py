"""Nothing POSIX-only at import time: every module imports, and the store writes, without the
modules Windows lacks (``fcntl`` above all, which the write lock used to import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHILD = """
import importlib, pkgutil, sys, tempfile, traceback, warnings
from pathlib import Path
for name in ("fcntl", "termios", "pwd", "grp", "resource"):
    sys.modules[name] = None  # as on Windows: importing it raises ImportError
warnings.simplefilter("ignore")  # filelock says it falls back to a soft lock here
import assistant
failed = []
for info in pkgutil.walk_packages(assistant.__path__, "assistant."):
    if info.name != "assistant.__main__":  # that one runs the command line
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            # Where the import of a missing module was written: a library that imports it only
            # on POSIX (mcp's stdio server does) runs its POSIX branch here, not on Windows.
            frames = [f for f in traceback.extract_tb(exc.__traceback__)
                      if not f.filename.startswith("<frozen")]
            if "site-packages" not in frames[-1].filename:
                failed.append(f"{info.name}: {exc} ({frames[-1].filename})")
from assistant.migrations import open_database
store = open_database(Path(tempfile.mkdtemp()))
store.set_meta("written", "yes")
print(failed, store.get_meta("written"))
"""


def test_every_module_imports_and_the_store_writes_without_fcntl():
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                            timeout=300, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[] yes"
