"""Measure the two large inputs of issue 17 through the real CLI, and print the figures.

    .venv/bin/python tests/reliability/measure_large_inputs.py [--seconds N]

1. ``loremind index`` of a folder holding one 50 MB text file: peak resident memory (sampled
   from /proc every 0.2 s), progress lines seen on stderr, chunks stored. A full run takes long
   on two cores (about 13 M word pieces to embed), so it is stopped after ``--seconds`` unless
   it ends first; memory is flat once streaming, which is what this checks.
2. ``loremind memory import`` of 10,000 memories: wall time, CPU time, progress lines, table
   versions and size on disk afterwards.
Not a test (it runs for minutes); the reliability tests check the same paths at a small scale.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
WORDS = ("lighthouse keeper harbour winter storm lamp ledger tide ship rope signal night "
         "coast fog bell island wind supply boat record north south weather").split()


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def write_text(path: Path, megabytes: float) -> None:
    """A plain text file of ``megabytes`` MB: sentences in paragraphs, no headings."""
    rng = random.Random(17)
    with path.open("w", encoding="utf-8") as handle:
        written = 0
        while written < megabytes * 1024 * 1024:
            sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18))) + "."
                         for _ in range(rng.randint(2, 6))]
            paragraph = " ".join(sentences).capitalize() + "\n\n"
            handle.write(paragraph)
            written += len(paragraph)


def run(cmd: list[str], env: dict[str, str], seconds: float) -> dict[str, object]:
    """Run ``cmd``, sampling its memory; stop it after ``seconds``."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = 0
    while proc.poll() is None and time.perf_counter() - started < seconds:
        peak = max(peak, _rss_kb(proc.pid))
        time.sleep(0.2)
    stopped = proc.poll() is None
    if stopped:
        proc.terminate()
    out, err = proc.communicate()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": round(time.perf_counter() - started, 1), "stopped": stopped,
            "rc": proc.returncode, "peak_rss_mb": round(peak / 1024), "stdout": out,
            "stderr": err, "cpu_s": round(usage.ru_utime + usage.ru_stime, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lm-large-"))
    env = {**os.environ, "LOREMIND_HOME": str(root / "home")}
    if not args.skip_index:
        folder = root / "docs"
        folder.mkdir()
        write_text(folder / "big.txt", 49.9)  # just under the default 50 MB limit
        result = run([PYTHON, "-m", "assistant", "index", str(folder)], env, args.seconds)
        progress = [line for line in str(result["stderr"]).splitlines() if "chunks" in line]
        count = subprocess.run([PYTHON, "-c", (
            "from assistant.migrations import open_database; from assistant.paths import "
            "app_paths; print(open_database(app_paths()).count('chunks'))")],
            env=env, capture_output=True, text=True).stdout.strip()
        print(f"index 50 MB: {result['seconds']} s (stopped: {result['stopped']}), peak RSS "
              f"{result['peak_rss_mb']} MB, {len(progress)} progress lines "
              f"(last: {progress[-1] if progress else '-'}), chunks stored: {count}; "
              f"{str(result['stdout']).strip()}")
    if args.skip_import:
        return
    memories = [{"id": f"m{i:05d}", "text": f"Fact {i}: I like {random.choice(WORDS)} and "
                 f"{random.choice(WORDS)} on {random.choice(WORDS)} days"} for i in range(10_000)]
    export = root / "memories.json"
    export.write_text(json.dumps({"format": "loremind-memories", "memories": memories}))
    env["LOREMIND_HOME"] = str(root / "home-memories")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run([PYTHON, "-m", "assistant", "memory", "import", str(export)], env, 1200)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    table = root / "home-memories" / "data" / "db" / "memories.lance"
    size = sum(f.stat().st_size for f in table.rglob("*") if f.is_file())
    versions = len(list((table / "_versions").glob("*.manifest")))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"import 10,000 memories: {result['seconds']} s wall, {cpu:.1f} s CPU, peak RSS "
          f"{result['peak_rss_mb']} MB, {str(result['stderr']).count('Embedding memories')} "
          f"progress reports, {versions} table versions, {size / 1e6:.1f} MB on disk; "
          f"{str(result['stdout']).strip()}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
