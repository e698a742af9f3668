"""A small generator of hostile inputs for the ``loremind`` CLI.

Five families: memory files of every malformed JSON shape, out-of-range, mistyped, oversized
and deeply nested settings, hostile file names, text encodings and pathological documents in an
indexed folder, special files given as models, adapters and documents, and hostile
command-line arguments (text that is not UTF-8, export paths that cannot be written). Chat
files, stored malformed chats and servers that never finish are in :mod:`chat_cases`. Each
function writes what its cases need under ``work`` and returns :class:`Case` objects for
:func:`runner.run_cases`.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from assistant.setting_ranges import RANGES
from tests.reliability.runner import Case

MEMORY = {"id": "a1", "text": "I keep bees", "status": "active", "pinned": False,
          "origin": "explicit", "replaces": "", "session_id": "", "message_id": "",
          "created_at": 1.7e9, "updated_at": 1.7e9}
EVENT = {"id": "e1", "memory_id": "a1", "event": "created", "old_text": "",
         "new_text": "I keep bees", "old_status": "", "new_status": "active", "actor": "user",
         "at": 1.7e9}
ODD_VALUES: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], {}, float("nan"), float("inf"),
                         "\u202eevil", "a" * 20_000]


def export(memories: Any = None, events: Any = None, **top: Any) -> dict[str, Any]:
    """A memory export with the given parts (a valid one when none are given)."""
    data: dict[str, Any] = {"format": "loremind-memories", "version": 1,
                            "memories": [MEMORY] if memories is None else memories,
                            "events": [] if events is None else events}
    data.update(top)
    return data


def json_shape_cases(work: Path) -> list[Case]:
    """``memory import`` of malformed files: wrong top level, wrong containers, every field of a
    memory and of an event missing or of an odd type, duplicate ids, broken JSON, odd files."""
    files: dict[str, Any] = {
        "top-list": [], "top-str": "loremind-memories", "top-int": 1, "top-null": None,
        "top-empty": {}, "format-other": {"format": "other"}, "format-int": {"format": 1},
        "version-2": export(version=2), "version-str": export(version="1"),
        "version-bool": export(version=True), "version-null": export(version=None),
        "dup-memory-ids": export([{**MEMORY, "id": "d1"}, {**MEMORY, "id": "d2", "text": "b"},
                                  {**MEMORY, "id": "d1", "text": "c"}]),
        "dup-event-ids": export(events=[EVENT, EVENT]),
        "text-too-long": export([{**MEMORY, "text": "z" * 10_001}]),
        "text-blank": export([{**MEMORY, "text": " \n\t "}]),
        "text-nul": export([{**MEMORY, "text": "a\x00b"}]),
        "time-negative": export([{**MEMORY, "created_at": -5}]),
        "time-far": export([{**MEMORY, "created_at": 1e300}]),
    }
    for container in ("memories", "events"):
        for index, value in enumerate([None, {}, "x", 1, True, [1], ["s"], [None], [[]]]):
            files[f"{container}-as-{index}"] = export(**{container: value})
    for kind, base in (("memory", MEMORY), ("event", EVENT)):
        for name in base:
            item = {k: v for k, v in base.items() if k != name}
            files[f"{kind}-without-{name}"] = _wrap(kind, item)
            for index, value in enumerate(ODD_VALUES):
                files[f"{kind}-{name}-odd{index}"] = _wrap(kind, {**base, name: value})
    cases = []
    folder = work / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        cases.append(Case(f"import:{name}", ["memory", "import", str(path)],
                          expect_ok=_valid_guess(name)))
    raw = {"broken-truncated": b'{"format": "loremind-memories", "memories": [',
           "broken-garbage": b'{"format": "loremind-memories"} trailing',
           "broken-empty": b"", "broken-binary": bytes(range(256)),
           "broken-utf16": json.dumps(export()).encode("utf-16"),
           "broken-deep": b"[" * 100_000 + b"]" * 100_000,
           "broken-nan-top": b"NaN"}
    for name, data in raw.items():
        path = folder / f"{name}.json"
        path.write_bytes(data)
        cases.append(Case(f"import:{name}", ["memory", "import", str(path)], expect_ok=False))
    os.mkfifo(folder / "fifo.json")
    os.symlink("/dev/zero", folder / "zero.json")
    (folder / "a-folder.json").mkdir()
    for name in ("fifo.json", "zero.json", "a-folder.json", "missing.json"):
        cases.append(Case(f"import:{name}", ["memory", "import", str(folder / name)],
                          expect_ok=False))
    return cases


def _wrap(kind: str, item: Any) -> dict[str, Any]:
    if kind == "memory":
        return export([item])
    return export(events=[item])


def _valid_guess(name: str) -> bool | None:
    # Only the outcome "no traceback, one clean line" is asserted for field variants; whether a
    # given odd value is accepted (a number as created_at) is the validator's business.
    return False if name.startswith(("top-", "format-", "version-", "dup-", "text-")) else None


def settings_cases() -> list[Case]:
    """Every ranged number below, above, at its bounds, non-finite and mistyped; odd tables."""
    cases = []
    for key, (low, high) in RANGES.items():
        section, _, name = key.rpartition(".")
        values: list[tuple[str, bool | None]] = [("nan", False), ("inf", False), ("-inf", False),
                                                 ('"12"', False), ("true", False), ("[1]", False)]
        for bound, step in ((low, -1), (high, 1)):
            if bound is not None:
                values += [(_toml(bound), True), (_toml(bound + step), False)]
        for value, ok in values:
            if key == "model.gpu_layers" and value == '"12"':
                continue  # a string other than "auto": checked below
            config = f"[{section}]\n{name} = {value}\n"
            cases.append(Case(f"settings:{key}={value}", ["knowledge", "status", "--json"],
                              config=config, expect_ok=ok))
    odd = {"unknown-key": "[model]\nwho = 1\n", "unknown-table": "[nope]\nx = 1\n",
           "table-as-int": "model = 3\n", "bad-toml": "[model\npath = ",
           "gpu-layers-word": '[model]\ngpu_layers = "all"\n',
           "memory-mode": '[memory]\nmode = "never"\n', "huge-int": "[model]\nthreads = "
           "9223372036854775807\n", "folders-int": "[knowledge]\nfolders = [1, 2]\n",
           "path-newline": '[model]\npath = "a\\nb.gguf"\n', "binary": "\x00\x01\x02",
           "deep-table": "[model.remote.x]\ny = 1\n", "bom": "\ufeff[model]\nthreads = 1\n",
           "deep-array": "a = " + "[" * 100_000 + "]" * 100_000 + "\n",
           "deep-inline-table": "a = " + "{b = " * 5_000 + "1" + "}" * 5_000 + "\n",
           "nested-folders": "[knowledge]\nfolders = [" + "[" * 50 + "]" * 50 + "]\n",
           "huge-model-path": '[model]\npath = "' + "m" * 10_000_000 + '"\n',
           "long-model-path": '[model]\npath = "' + "m" * 5_000 + '"\n',
           "nul-model-path": '[model]\npath = "a\\u0000b.gguf"\n',
           "many-folders": "[knowledge]\nfolders = [" + ", ".join(['"/x"'] * 5_000) + "]\n",
           "remote-limits-zero": "[model.remote]\nidle_timeout_s = 0\n"}
    for name, config in odd.items():
        cases.append(Case(f"settings:{name}", ["knowledge", "status", "--json"], config=config))
    return cases


def _toml(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


HOSTILE_NAMES: list[bytes] = [
    b"bad\xffname.txt", b"\xc3\x28invalid.md", b"latin1-caf\xe9.txt", b"new\nline.txt",
    b"tab\there.md", b"quote'single.txt", b'quote"double.md', b"back\\slash.txt",
    b"x' OR '1'='1.txt", b"semi;colon -- comment.md", b"percent%25.txt", b"star*.txt",
    b"question?.md", b"brackets[1].txt", b"braces{a}.md", b"-dash-first.txt", b"space end .txt",
    b"  lead space.md", b"UPPER.TXT", b"mixed.Md", b"caf\xc3\xa9-nfc.txt", b"cafe\xcc\x81-nfd.txt",
    b"\xe2\x80\xaeright-to-left.txt", b"emoji-\xf0\x9f\x90\x9d.md", b"zero\xe2\x80\x8bwidth.txt",
    b"\xe4\xb8\xad\xe6\x96\x87.txt", b"\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7.md",
    b"a" * 250 + b".txt", b"dots...txt", b"trailing.dot.", b"#hash.md", b"~tilde.txt",
    b"ctrl\x01char.txt", b"ctrl\x1bescape.md", b"del\x7f.txt", b"colon:name.txt",
    b"pipe|name.md", b"amp&name.txt", b"dollar$HOME.txt", b"backtick`ls`.md",
    b"lone-surrogate-\xed\xa0\x80.txt", b"overlong-\xc0\xaf.txt", b"notes.txt.bak",
    b".hidden.md", b"~$lock.docx",
]

ENCODED_TEXTS: dict[str, bytes] = {
    "utf8-bom.txt": "\ufeffByte order mark then text.".encode(),
    "utf16-le.txt": "Little endian sixteen bit text.".encode("utf-16"),
    "utf16-be.txt": "\ufeffBig endian sixteen bit text.".encode("utf-16-be"),
    "latin1.txt": "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve.".encode("latin-1"),
    "cp1252.txt": "\u201cSmart quotes\u201d \u2014 and a \u20ac sign.".encode("cp1252"),
    "shift-jis.txt": "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002".encode(
        "shift_jis"),
    "koi8r.txt": "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!".encode("koi8-r"),
    "gb18030.md": "# \u6807\u9898\n\u4e2d\u6587\u5185\u5bb9\u3002".encode("gb18030"),
    "random-bytes.txt": random.Random(3).randbytes(4096),
    "nul-bytes.md": b"text\x00with\x00nuls",
    "only-bom.txt": b"\xef\xbb\xbf", "empty.txt": b"", "whitespace.md": b" \n\t\r\n ",
    "one-huge-line.txt": b"word " * 5_000, "no-newline-giant-word.txt": b"x" * 300_000,
    "cr-only.txt": b"line one\rline two\rline three",
    "surrogates-cesu.txt": b"\xed\xa0\xbd\xed\xb8\x80",
    "overlong.txt": b"\xc0\xaf\xe0\x80\xaf", "html-no-body.html": b"<html><head></head></html>",
    "html-broken.htm": b"<html><body><p>unclosed <b>bold <i>both", "md-only-headings.md":
        b"# A\n## B\n### C\n", "md-unclosed-fence.md": b"# T\n```\ncode forever\n",
    "rst-adornments.rst": b"=====\n=====\n-----\n", "fake.pdf": b"%PDF-1.7\n%%EOF",
    "fake.docx": b"PK\x03\x04 not really a zip", "json-as-text.json": b'{"a": [1, 2, {"b": null}]}',
    "deep-json.json": b"[" * 50_000 + b"]" * 50_000, "csv-quotes.csv": b'a,"b""c",d\n1,2,3\n',
    # Issue 26: shapes that made the parsers backtrack or walk the tree per string.
    "heading-like.md": ("#" + " " * 1500 + "#" * 1500 + " " * 1500 + "x\n").encode() * 4,
    "nested-spans.html": b"<html><body>" + b"<span>x" * 57_000,
    "nested-left-out.html": b"<html><body><main>" + b"<div><aside>a<nav>n<h2>t</h2>" * 10_000,
    "near-adornments.rst": (b"=" * 3000 + b" " * 3000 + b"x\n" + b"-" * 3000 + b"\n") * 3,
}


def folder_cases(work: Path, home: str) -> tuple[list[Case], dict[str, str]]:
    """One folder of hostile names, encodings and special files, indexed twice, then listed.

    Returns the cases and, for each file written, what ``knowledge status`` must say about it
    ("indexed", "skipped", "failed" or "absent" for names the indexer leaves out by design).
    """
    docs = work / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    for raw in HOSTILE_NAMES:
        path = os.path.join(os.fsencode(docs), raw)
        with open(path, "wb") as handle:
            handle.write(b"A line about hostile names and the lighthouse keeper.")
        expected[os.fsdecode(path)] = _expected_for_name(raw)
    for name, data in ENCODED_TEXTS.items():
        (docs / name).write_bytes(data)
        expected[str(docs / name)] = "any"
    specials = docs / "specials"
    specials.mkdir(exist_ok=True)
    os.mkfifo(specials / "fifo.txt")
    os.symlink("/dev/zero", specials / "zero.md")
    os.symlink("/dev/null", specials / "null.txt")
    os.symlink(specials / "missing-target", specials / "broken.txt")
    os.symlink(specials / "loop.md", specials / "loop.md")
    (specials / "folder.txt").mkdir(exist_ok=True)
    for name in ("fifo.txt", "zero.md", "null.txt", "broken.txt", "loop.md"):
        expected[str(specials / name)] = "skipped"
    # Embedding ~100 files on a busy two-core machine takes minutes, not a hang.
    cases = [Case("index:folder", ["index", str(docs)], expect_ok=True, home=home,
                  timeout_s=900),
             Case("index:folder-again", ["index", str(docs)], expect_ok=True, home=home,
                  timeout_s=900),
             Case("index:status", ["knowledge", "status", "--json"], expect_ok=True, home=home)]
    return cases, expected


def _expected_for_name(raw: bytes) -> str:
    name = raw.decode("utf-8", "replace")
    if raw.startswith((b".", b"~$", b"#")) or raw.endswith((b".bak", b".")):
        return "absent"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "skipped"
    return "absent" if not name.lower().endswith((".txt", ".md")) else "indexed"


def model_file_cases(work: Path, tiny_model: Path, adapter: Path) -> list[Case]:
    """Special and broken files given as ``--model``: each refused with one clean line."""
    folder = work / "models"
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "fifo.gguf")
    os.symlink("/dev/zero", folder / "zero.gguf")
    os.symlink("/dev/null", folder / "null.gguf")
    os.symlink(folder / "nowhere", folder / "broken.gguf")
    (folder / "dir.gguf").mkdir()
    (folder / "empty.gguf").write_bytes(b"")
    (folder / "random.gguf").write_bytes(random.Random(5).randbytes(10_000))
    (folder / "magic-only.gguf").write_bytes(b"GGUF")
    (folder / "text.gguf").write_text("not a model")
    data = tiny_model.read_bytes()
    (folder / "truncated.gguf").write_bytes(data[: len(data) // 2])
    (folder / "header-cut.gguf").write_bytes(data[:40])
    names = ["fifo.gguf", "zero.gguf", "null.gguf", "broken.gguf", "dir.gguf", "empty.gguf",
             "random.gguf", "magic-only.gguf", "text.gguf", "truncated.gguf", "header-cut.gguf",
             "missing.gguf"]
    cases = [Case(f"model:{n}", ["adapters", "list", "--json", "--model", str(folder / n)],
                  expect_ok=False) for n in names]
    cases.append(Case("model:adapter-as-model",
                      ["adapters", "list", "--json", "--model", str(adapter)], expect_ok=False))
    return cases


def argument_cases(work: Path) -> list[Case]:
    """Odd ids, queries and options: SQL quotes, empty strings, control characters, ranges."""
    odd_ids = ["'", "''", "%", "_", "*", "x' OR '1'='1", "\\", "a\nb", "\t", "é", "🐝",
               "-", "--", "a" * 5000, " "]
    cases = []
    for index, value in enumerate(odd_ids):
        for command in (["memory", "forget"], ["memory", "restore"], ["memory", "history"],
                        ["sessions", "show"], ["sessions", "delete"]):
            cases.append(Case(f"args:{'-'.join(command)}:{index}", [*command, "--", value]
                              if value.startswith("-") else [*command, value], expect_ok=False,
                              home="args"))
    for index, query in enumerate(["'", "\"", "x' OR '1'='1", "%", "NOT", "AND OR", "()", "*",
                                   "é🐝", "a" * 3000, "\\"]):
        cases.append(Case(f"args:search:{index}", ["search", "--json", query], home="args"))
        cases.append(Case(f"args:memory-search:{index}", ["memory", "list", "--search", query],
                          home="args"))
    for k in ("0", "-1", "abc", "1e3", "100000"):
        cases.append(Case(f"args:search-k:{k}", ["search", "--k", k, "x"], expect_ok=False,
                          home="args"))
    for text in ("", "   ", "\n\n", "z" * 20_000):
        cases.append(Case(f"args:memory-add:{len(text)}", ["memory", "add", text],
                          home="args"))
    for spec in ("x:nan", "x:inf", "x:1e30", ":", ":1", "x:"):
        cases.append(Case(f"args:adapter:{spec}", ["ask", "--adapter", spec, "hi"],
                          expect_ok=False, home="args"))
    cases += _undecodable_and_path_cases(work)
    cases.append(Case("args:index-missing", ["index", str(work / "nowhere")], expect_ok=False))
    cases.append(Case("args:index-file", ["index", str(Path(__file__))], expect_ok=False))
    return cases



# Bytes that are not UTF-8 reach Python as lone surrogates: b"\xff" is "\udcff".
UNDECODABLE = [os.fsdecode(b"caf\xe9"), os.fsdecode(b"\xff\xfe"), "half \ud800 pair",
               os.fsdecode(b"ok \xc3\x28 bad")]


def _undecodable_and_path_cases(work: Path) -> list[Case]:
    """Text arguments that are not UTF-8, and export paths that cannot be written."""
    cases = []
    for index, text in enumerate(UNDECODABLE):
        for command in (["memory", "add"], ["search"], ["sessions", "search"],
                        ["memory", "list", "--search"], ["memory", "forget"],
                        ["sessions", "show"], ["ask", "--no-knowledge"]):
            cases.append(Case(f"args:undecodable:{'-'.join(command)}:{index}", [*command, text],
                              expect_ok=False, home="args"))
    (work / "a-file").parent.mkdir(parents=True, exist_ok=True)
    (work / "a-file").write_text("a file where a folder should be")
    targets = {"folder": str(work), "missing-folder": str(work / "nowhere" / "x.json"),
               "file-as-folder": str(work / "a-file" / "x.json"), "dev-null": "/dev/null",
               "proc-new": "/proc/loremind-export.json", "proc-file": "/proc/version",
               "empty": ""}
    for name, target in targets.items():
        cases.append(Case(f"args:memory-export:{name}", ["memory", "export", target],
                          expect_ok=False, home="args"))
        cases.append(Case(f"args:sessions-export:{name}", ["sessions", "export", "nope", target],
                          expect_ok=False, home="args"))
    cases.append(Case("args:model-path-1mb", ["adapters", "list", "--json", "--model",
                                              "m" * 1_000_000], expect_ok=False))
    return cases
