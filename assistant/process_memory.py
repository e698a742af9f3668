"""How much memory this process has held at most: benchmarks and Teach report it."""

from __future__ import annotations

import sys
from pathlib import Path


def peak_rss_bytes() -> int:
    """The most memory this process has held: Linux's high-water mark of this program (a
    process started by another starts from zero, unlike ``ru_maxrss``, which Linux carries
    over from the parent through fork and exec), else ``ru_maxrss`` (other POSIX systems),
    else what it holds now (Windows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        import psutil

        return int(psutil.Process().memory_info().rss)
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale
