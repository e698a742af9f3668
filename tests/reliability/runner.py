"""Run CLI cases in a child process and judge each: exit 0 or a one-line error, never a
traceback, a signal or a hang.

Starting Python with torch and LanceDB costs seconds, so one child runs many cases: it calls the
``loremind`` click group once per case (each its own ``LOREMIND_HOME``), under an alarm, and
reports each result as JSON. A crash of the child (a signal) or a child past its time limit
fails every case it had not reported. ``isolated=True`` runs each case in a process of its own.

    .venv/bin/python -m tests.reliability.runner CASES.json   (the child side)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CASE_TIMEOUT_S = 60  # one case; the machine may be shared and slow, a hang is forever


@dataclass
class Case:
    """One hostile input: the CLI arguments, the settings file text and files to make first."""

    id: str
    args: list[str]
    config: str = ""  # config.toml text; empty: no settings file
    expect_ok: bool | None = None  # True: must exit 0; False: must fail cleanly; None: either
    home: str = ""  # cases naming the same home share one LOREMIND_HOME (in order)
    timeout_s: int = CASE_TIMEOUT_S


@dataclass
class Outcome:
    """What one case did."""

    id: str
    code: int | None  # exit status; None when the child never reported it
    stdout: str = ""
    stderr: str = ""
    problem: str = ""  # empty when the case behaved
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def judge(case: Case, code: int | None, stdout: str, stderr: str) -> str:
    """Why the case misbehaved, or "" when it exited 0 or with one clean error line."""
    if code is None:
        return "no result (the process died or hung)"
    if code < 0:
        return f"killed by signal {-code}"
    if "Traceback (most recent call last)" in stderr + stdout:
        return "printed a traceback"
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    if code == 0:
        return "" if case.expect_ok is not False else "exited 0 but should have failed"
    if case.expect_ok:
        return f"failed (exit {code}): {stderr.strip()[-300:]}"
    if code not in (1, 2) or len(errors) != 1:
        return f"exit {code} without exactly one 'Error:' line: {stderr.strip()[-300:]}"
    return ""


def run_cases(cases: list[Case], home_root: Path, timeout_s: float = 900,
              isolated: bool = False) -> list[Outcome]:
    """Run ``cases`` in child processes (one for all, or one each) and judge every one."""
    if isolated:
        return [o for case in cases for o in run_cases([case], home_root, timeout_s)]
    home_root.mkdir(parents=True, exist_ok=True)
    spec = home_root / f"cases-{os.getpid()}-{id(cases)}.json"
    spec.write_text(json.dumps({"home_root": str(home_root),
                                "cases": [asdict(c) for c in cases]}))
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    try:
        proc = subprocess.run([sys.executable, "-m", "tests.reliability.runner", str(spec)],
                              cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = None, _text(exc.stdout), _text(exc.stderr)
    reported = {}
    for line in out.splitlines():
        if line.startswith("@@case "):
            data = json.loads(line[len("@@case "):])
            reported[data["id"]] = data
    outcomes = []
    for case in cases:
        data = reported.get(case.id)
        if data is None:
            why = (f"the child ended with {code}" if code is not None else "the child hung")
            outcomes.append(Outcome(case.id, None, "", err[-2000:], f"no result: {why}"))
            continue
        outcome = Outcome(case.id, data["code"], data["stdout"], data["stderr"],
                          seconds=data["seconds"])
        outcome.problem = data.get("crash") or judge(case, data["code"], data["stdout"],
                                                     data["stderr"])
        outcomes.append(outcome)
    return outcomes


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


# -- the child side ---------------------------------------------------------------------------


class _Hang(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` in the code swallows it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Hang


def _run_one(case: Case, home: Path) -> dict[str, Any]:
    import time

    import click

    from assistant.cli import main

    os.environ["LOREMIND_HOME"] = str(home)
    if case.config:
        (home / "config").mkdir(parents=True, exist_ok=True)
        (home / "config" / "config.toml").write_text(case.config, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    crash = ""
    started = time.perf_counter()
    signal.alarm(case.timeout_s)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main.main(args=case.args, prog_name="loremind", standalone_mode=True)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except click.exceptions.Abort:
                code = 1
    except _Hang:
        code, crash = -1, f"hung for more than {case.timeout_s} s"
    except Exception:  # noqa: BLE001 - what the CLI let through is exactly what we look for
        code, crash = 1, "uncaught exception"
        err.write(traceback.format_exc())
    finally:
        signal.alarm(0)
    return {"id": case.id, "code": code, "stdout": out.getvalue()[:2_000_000],
            "stderr": _ends(err.getvalue()), "crash": crash,
            "seconds": round(time.perf_counter() - started, 2)}


def _share_embedder() -> None:
    """Load the real embedder once for all cases of this child, not once per command."""
    import functools

    import assistant.knowledge.embedder as embedding

    # The core imports the class from there when it makes its embedder.
    embedding.Embedder = functools.cache(embedding.Embedder)  # type: ignore[misc]


def _ends(text: str, keep: int = 3000) -> str:
    """The start (where "Error:" is) and the end (where a traceback ends) of a long text."""
    return text if len(text) <= 2 * keep else text[:keep] + "\n[…]\n" + text[-keep:]


def _child(spec_path: Path) -> None:
    spec = json.loads(spec_path.read_text())
    root = Path(spec["home_root"])
    signal.signal(signal.SIGALRM, _on_alarm)
    _share_embedder()
    for index, raw in enumerate(spec["cases"]):
        case = Case(**raw)
        result = _run_one(case, root / (case.home or f"home-{os.getpid()}-{index}"))
        sys.__stdout__.write("@@case " + json.dumps(result) + "\n")
        sys.__stdout__.flush()


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
