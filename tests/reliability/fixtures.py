"""Hostile model and adapter files, and the checks that read the CLI's JSON answers back."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from assistant.bench.synthetic import write_lora, write_tiny_model
from assistant.engine.gguf_file import read_gguf
from tests.reliability.runner import Case, Outcome


def make_models(folder: Path) -> tuple[Path, Path]:
    """A tiny random model and a LoRA adapter that fits it."""
    folder.mkdir(parents=True, exist_ok=True)
    tiny = write_tiny_model(folder / "tiny.gguf")
    adapter = write_lora(folder / "fits.gguf", read_gguf(tiny))
    return tiny, adapter


def adapter_folder_cases(work: Path, tiny: Path, home: str) -> tuple[list[Case], dict[str, bool]]:
    """An adapters folder of special, broken and out-of-range files, listed as JSON.

    Returns the cases and, per file name, whether ``adapters list`` must call it compatible.
    """
    work.mkdir(parents=True, exist_ok=True)
    base = read_gguf(tiny)
    expected = {"fits.gguf": True}
    write_lora(work / "fits.gguf", base)
    for name, alpha in (("alpha-nan.gguf", float("nan")), ("alpha-inf.gguf", float("inf")),
                        ("alpha-huge.gguf", 1e30), ("alpha-negative.gguf", -8.0)):
        write_lora(work / name, base, alpha=alpha)
        expected[name] = False
    write_lora(work / "rank-0.gguf", base, rank=0)
    expected["rank-0.gguf"] = False
    os.mkfifo(work / "fifo.gguf")
    os.symlink("/dev/zero", work / "zero.gguf")
    os.symlink(work / "nowhere", work / "broken.gguf")
    (work / "empty.gguf").write_bytes(b"")
    (work / "random.gguf").write_bytes(random.Random(9).randbytes(4096))
    (work / "model-not-adapter.gguf").write_bytes(tiny.read_bytes())
    (work / "peft.safetensors").write_bytes(b"{}")
    with open(os.path.join(os.fsencode(work), b"bad\xffname.gguf"), "wb") as handle:
        handle.write((work / "fits.gguf").read_bytes())
    for name in ("fifo.gguf", "zero.gguf", "empty.gguf", "random.gguf",
                 "model-not-adapter.gguf", "peft.safetensors"):
        expected[name] = False
    config = f"[adapters]\nfolders = [{json.dumps(str(work))}]\n"
    args = ["adapters", "list", "--json", "--model", str(tiny)]
    cases = [Case("adapters:list", args, config=config, expect_ok=True, home=home),
             Case("adapters:list-again", args, config=config, expect_ok=True, home=home)]
    return cases, expected


def adapter_problems(outcome: Outcome, expected: dict[str, bool]) -> list[str]:
    """What is wrong with an ``adapters list --json`` answer: invalid JSON (NaN), a file judged
    wrongly, or a file missing from the list."""
    try:
        listed = json.loads(outcome.stdout, parse_constant=_refuse)
    except ValueError as exc:
        return [f"not valid JSON: {exc}"]
    found = {Path(item["path"]).name: item for item in listed}
    problems = []
    for name, compatible in expected.items():
        item = found.get(name)
        if item is None:
            problems.append(f"{name}: not listed")
        elif item["compatible"] != compatible:
            problems.append(f"{name}: compatible={item['compatible']} ({item['reason']})")
        elif not compatible and not item["reason"]:
            problems.append(f"{name}: incompatible without a reason")
    return problems


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def folder_problems(outcome: Outcome, expected: dict[str, str]) -> list[str]:
    """What is wrong with ``knowledge status --json`` after indexing the hostile folder: every
    file indexed, or skipped/failed with a reason, or absent when left out by design."""
    try:
        status = json.loads(outcome.stdout)
    except ValueError as exc:
        return [f"status is not valid JSON: {exc}"]
    not_indexed = {item["path"]: item for item in status["not_indexed"]}
    indexed_count = status["by_status"].get("indexed", 0)
    problems = []
    want_indexed = 0
    for path, want in expected.items():
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        item = not_indexed.get(shown)
        if want == "indexed":
            want_indexed += 1
            if item is not None:
                problems.append(f"{shown!r}: {item['status']} ({item['reason']}), not indexed")
        elif want == "skipped" and (item is None or item["status"] != "skipped"
                                    or not item["reason"]):
            problems.append(f"{shown!r}: expected skipped with a reason, got {item}")
        elif want == "absent" and item is not None:
            problems.append(f"{shown!r}: should be left out, got {item}")
        elif want == "any" and item is not None and not item["reason"]:
            problems.append(f"{shown!r}: {item['status']} without a reason")
    if indexed_count < want_indexed:
        problems.append(f"only {indexed_count} documents indexed, expected at least "
                        f"{want_indexed}")
    return problems
