"""Run every generated hostile input through the CLI and print the tally (minutes, not CI).

    .venv/bin/python -m tests.reliability.run_all [--isolated N]

All families of :mod:`tests.reliability.cases` run in child processes (many cases per child);
``--isolated N`` also runs the first N cases of each family in a process of their own, so a
crash or a hang is attributed to one case. Prints one line per misbehaving case and a summary.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.engine.remote_support import HostileServer
from tests.reliability.cases import (
    argument_cases,
    folder_cases,
    json_shape_cases,
    model_file_cases,
    settings_cases,
)
from tests.reliability.chat_cases import (
    chat_import_cases,
    damaged_chat_cases,
    listing_problems,
    stream_cases,
    stream_problems,
)
from tests.reliability.fixtures import (
    adapter_folder_cases,
    adapter_problems,
    folder_problems,
    make_models,
)
from tests.reliability.runner import Case, Outcome, run_cases

Check = Callable[[list[Outcome]], list[str]]


def families(work: Path, servers: list[HostileServer]
             ) -> dict[str, tuple[list[Case], int, Check | None]]:
    """Every family's cases, how many hostile inputs each covers (files in a folder count one
    each: the folder is indexed by one command), and a check of the answers' content. The
    hostile servers started for the streams are added to ``servers``, to stop at the end."""
    tiny, adapter = make_models(work / "models-src")
    folder, expected = folder_cases(work / "folder", "folder")
    adapters, adapter_files = adapter_folder_cases(work / "adapters", tiny, "adapters")
    servers += [HostileServer(b) for b in HostileServer.BEHAVIOURS]
    streams = stream_cases({s.behaviour: s.url for s in servers})

    def check_folder(outcomes: list[Outcome]) -> list[str]:
        return folder_problems(_named(outcomes, "index:status"), expected)

    def check_adapters(outcomes: list[Outcome]) -> list[str]:
        return adapter_problems(_named(outcomes, "adapters:list-again"), adapter_files)

    def check_chats(outcomes: list[Outcome]) -> list[str]:
        return listing_problems(_named(outcomes, "chat-import:list"))

    return {
        "memory import shapes": (json_shape_cases(work / "json"), 0, None),
        "settings": (settings_cases(), 0, None),
        "names, encodings, special documents": (folder, len(expected), check_folder),
        "special and broken model files": (model_file_cases(work / "m", tiny, adapter), 0, None),
        "adapter folder": (adapters, len(adapter_files), check_adapters),
        "arguments": (argument_cases(work / "args"), 0, None),
        "chat import shapes": (chat_import_cases(work / "chat-files", "chats"), 0, check_chats),
        "chats stored malformed": (damaged_chat_cases(work / "homes", "damaged",
                                                      work / "damaged-exports"), 0, None),
        "servers that never finish": (streams, 0, stream_problems),
    }


def _named(outcomes: list[Outcome], case_id: str) -> Outcome:
    return next(o for o in outcomes if o.id == case_id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--isolated", type=int, default=0)
    parser.add_argument("--only", default="", help="run the families whose name has this")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lm-hostile-"))
    total = Counter[str]()
    bad: list[Outcome] = []
    started = time.perf_counter()
    servers: list[HostileServer] = []
    try:
        for name, family in families(work, servers).items():
            if args.only in name:
                bad += _run_family(name, *family, work, args.isolated, total)
    finally:
        for server in servers:
            server.stop()
    for outcome in bad:
        print(f"  PROBLEM {outcome.id}: {outcome.problem} | {outcome.stderr.strip()[-200:]!r}")
    kinds = Counter(o.problem.split(" ")[0] for o in bad)
    print(json.dumps({"cases": total["cases"], "child_processes": total["processes"],
                      "problems": len(bad), "by_kind": kinds,
                      "seconds": round(time.perf_counter() - started)}))
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if bad else 0)


def _run_family(name: str, cases: list[Case], inputs: int, check: Check | None, work: Path,
                isolated: int, total: Counter[str]) -> list[Outcome]:
    """Run one family, print its line, and return the cases that misbehaved."""
    begun = time.perf_counter()
    outcomes = run_cases(cases, work / "homes", timeout_s=3600)
    if isolated:
        outcomes += run_cases(cases[:isolated], work / "homes-isolated", isolated=True)
    problems = [o for o in outcomes if o.problem]
    if check is not None and not problems:
        problems += [Outcome(name, 0, problem=p) for p in check(outcomes)]
    count = max(len(outcomes), inputs)
    total["cases"] += count
    total["processes"] += 1 + min(isolated, len(cases))
    print(f"{name}: {count} cases ({len(outcomes)} CLI runs), {len(problems)} problems, "
          f"{time.perf_counter() - begun:.0f} s", flush=True)
    return problems


if __name__ == "__main__":
    main()
