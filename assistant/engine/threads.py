"""How many threads generation should use now: the cores other processes leave free.

llama.cpp's threads meet at a barrier after every step, so one thread that shares its core with
another busy process holds back all the others: measured with ``loremind bench engine
--contend 1`` on 2 cores, 2 threads gave 10.9 tokens/s and 1 thread 32.7. When the machine is
idle, every core helps. So with ``threads = 0`` (automatic), the model looks at how busy the
other processes keep the cores just before it generates (two readings of ``/proc/stat``, minus
this process's own use) and uses the cores they leave. Another thread count changes the last
bits of the logits, so a greedy answer may differ between a busy and an idle moment; set
``threads`` to a number for answers that repeat exactly.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_S = 0.05  # /proc/stat counts in 10 ms ticks: 50 ms on 2 cores is 10 of them
RECHECK_S = 5.0  # at most one reading per this many seconds (it delays the first token)


@dataclass(frozen=True)
class CpuSample:
    """Jiffies of the whole machine (all, idle) and of this process, at one moment."""

    total: int
    idle: int
    own: int


def read_sample() -> CpuSample | None:
    """The machine's and this process's CPU counters now; None where /proc is missing."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return CpuSample(sum(fields[:8]), idle, int(own[11]) + int(own[12]))


def free_cores(before: CpuSample, after: CpuSample, cores: int) -> float:
    """Cores that processes other than this one left unused between two samples."""
    total = after.total - before.total
    if total <= 0:
        return float(cores)
    others = (total - (after.idle - before.idle)) - (after.own - before.own)
    return cores * (1.0 - max(0, others) / total)


def threads_for(free: float, cores: int) -> int:
    """Threads to run with ``free`` cores: one per free core (rounded), at least one."""
    return max(1, min(cores, int(free + 0.5)))


class ThreadPolicy:
    """Chooses the thread count before a generation, re-reading the load now and then."""

    def __init__(self, cores: int | None = None) -> None:
        self.cores = cores or os.cpu_count() or 1
        self._checked = -RECHECK_S
        self._threads = self.cores

    def choose(self) -> int:
        """Threads for the generation about to start (the last choice within RECHECK_S)."""
        now = time.monotonic()
        if now - self._checked < RECHECK_S or self.cores == 1:
            return self._threads
        self._checked = now
        before = read_sample()
        time.sleep(SAMPLE_S)
        after = read_sample()
        if before is not None and after is not None:
            self._threads = threads_for(free_cores(before, after, self.cores), self.cores)
        return self._threads
