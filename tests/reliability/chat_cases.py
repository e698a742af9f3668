"""Hostile chats and servers for the generator (issue 26): chat files of every malformed shape,
chats stored malformed by an older version, and servers whose answers never finish.

Each function writes what its cases need under ``work`` and returns :class:`Case` objects; the
checks read the answers back (a listing that is valid JSON, answers that ended in time).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from tests.reliability.cases import ODD_VALUES
from tests.reliability.runner import Case, Outcome

TURN = {"role": "user", "text": "Where is the lighthouse?", "id": "t1", "created_at": 1.7e9,
        "sent_text": "", "sources": [], "memories_used": [], "stats": {}, "versions": [],
        "version": 0}
ANSWER = {**TURN, "role": "assistant", "text": "On the cape [1].", "id": "t2",
          "sources": [{"number": 1, "path": "/notes/cape.md", "page": 0, "heading": "Cape",
                       "text": "The lighthouse is on the cape.", "score": 0.9}],
          "memories_used": [{"id": "m1", "text": "I like lighthouses"}],
          "stats": {"completion_tokens": 5, "prompt_tokens": 40, "seconds": 0.5,
                    "finish_reason": "stop", "adapters": []},
          "versions": [{"text": "Earlier answer.", "sources": [], "memories_used": [],
                        "stats": {}, "sent_text": ""}], "version": 0}
CHAT = {"format": "loremind-chat", "version": 1, "exported_at": 1.7e9, "id": "c", "title": "T",
        "model": "tiny", "created_at": 1.7e9, "updated_at": 1.7e9,
        "adapters": [{"name": "style", "scale": 0.5}], "settings": {"temperature": 0.3},
        "messages": [TURN, ANSWER]}
# Odd values for the parts of a turn only a chat has: sources, stats, versions.
PART_VALUES: list[Any] = [[{"number": "one"}], [{"score": math.inf}], [None], {"seconds": -1},
                          {"adapters": [{"name": "x"}]}, [{"text": 5}], [[]], "[]"]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def chat_file(name: str, **changes: Any) -> dict[str, Any]:
    """A valid chat export with the id ``name`` and ``changes`` to its top level."""
    data = {**CHAT, "id": name}
    data.update(changes)
    return data


def chat_import_cases(work: Path, home: str) -> list[Case]:
    """``sessions import`` of malformed chat files, each then shown, exported and listed in
    the same home: a file is stored whole or not at all, and whatever is stored reads back."""
    files: dict[str, Any] = {
        "top-list": [], "top-str": "loremind-chat", "top-null": None, "format-other":
            {"format": "other"}, "version-list": chat_file("v1", version=[1]),
        "version-null": chat_file("v2", version=None), "version-abc": chat_file("v3",
                                                                                 version="abc"),
        "version-2": chat_file("v4", version=2), "messages-str": chat_file("ms", messages="hi"),
        "messages-dict": chat_file("md", messages={"a": 1}),
        "messages-strings": chat_file("mz", messages=["hi", "there"]),
        "dup-message-ids": chat_file("dup", messages=[TURN, TURN]),
        "nested-deep-settings": chat_file("deep", settings={"x": _nested(70)}),
        "many-messages": chat_file("many", messages=[{**TURN, "id": f"t{i}"}
                                                     for i in range(300)]),
    }
    for name in CHAT:
        if name == "format":
            continue
        files[f"chat-without-{name}"] = {k: v for k, v in chat_file(f"w-{name}").items()
                                         if k != name}
        for index, value in enumerate(ODD_VALUES):
            files[f"chat-{name}-odd{index}"] = chat_file(f"o-{name}-{index}", **{name: value})
    for name in ANSWER:
        for index, value in enumerate(ODD_VALUES + PART_VALUES):
            files[f"turn-{name}-odd{index}"] = chat_file(
                f"t-{name}-{index}", messages=[TURN, {**ANSWER, name: value}])
    folder = work / "chats"
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, data in files.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        expect = False if name.startswith(("top-", "format-", "version-", "messages-", "dup-",
                                           "nested-")) else None
        cases.append(Case(f"chat-import:{name}", ["sessions", "import", str(path)],
                          expect_ok=expect, home=home))
        chat_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(chat_id, str) and chat_id and name.startswith(("chat-", "turn-")):
            cases += [Case(f"chat-show:{name}", ["sessions", "show", chat_id, "--json"],
                           home=home),
                      Case(f"chat-export:{name}", ["sessions", "export", chat_id,
                                                    str(work / f"{name}.md")], home=home)]
    cases += _raw_and_special(folder, home)
    cases.append(Case("chat-import:list", ["sessions", "list", "--json"], expect_ok=True,
                      home=home))
    return cases


def _raw_and_special(folder: Path, home: str) -> list[Case]:
    raw = {"broken-deep": b"[" * 100_000 + b"]" * 100_000,
           "broken-deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
           "broken-truncated": b'{"format": "loremind-chat", "messages": [',
           "broken-nan": b'{"format": "loremind-chat", "title": "t", "created_at": NaN}',
           "broken-surrogate": b'{"format": "loremind-chat", "title": "a \\ud800 b"}',
           "broken-utf16": json.dumps(chat_file("u16")).encode("utf-16"),
           "broken-binary": bytes(range(256)), "broken-empty": b""}
    cases = []
    for name, data in raw.items():
        path = folder / f"{name}.json"
        path.write_bytes(data)
        cases.append(Case(f"chat-import:{name}", ["sessions", "import", str(path)],
                          expect_ok=False, home=home))
    os.mkfifo(folder / "fifo.json")
    os.symlink("/dev/zero", folder / "zero.json")
    (folder / "a-folder.json").mkdir()
    for name in ("fifo.json", "zero.json", "a-folder.json", "missing.json"):
        cases.append(Case(f"chat-import:{name}", ["sessions", "import", str(folder / name)],
                          expect_ok=False, home=home))
    return cases


def listing_problems(outcome: Outcome) -> list[str]:
    """What is wrong with ``sessions list --json`` after the imports: not strict JSON."""
    try:
        listed = json.loads(outcome.stdout, parse_constant=_refuse)
    except ValueError as exc:
        return [f"sessions list is not valid JSON: {exc}"]
    return [] if isinstance(listed, list) else ["sessions list is not a list"]


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


ASK_CONFIG = "[model]\ncontext_size = 2048\n[generation]\nmax_tokens = 8\n"
DAMAGE = {"sources": "{not json", "stats": json.dumps(["a", "list"]),
          "versions": json.dumps({"current": 5, "all": "nope"}),
          "memories_used": json.dumps([1, 2]), "role": "narrator"}


def damaged_chat_cases(homes: Path, home: str, work: Path) -> list[Case]:
    """Chats an older version stored malformed (written here straight into the database), then
    shown, exported, listed and continued: shown as damaged, never a traceback."""
    from assistant.bench.synthetic import write_tiny_model
    from assistant.chat.conversations import ChatMessage, ChatSession, Conversations
    from assistant.chat.tables import MESSAGES, SESSIONS
    from assistant.knowledge.embedder import Embedder
    from assistant.migrations import open_database
    from assistant.paths import AppPaths

    work.mkdir(parents=True, exist_ok=True)
    tiny = write_tiny_model(work / "tiny-2k.gguf", context=2048)  # room for the whole chat
    root = homes / home
    paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs").ensure()
    store = open_database(paths)
    chats = Conversations(store, Embedder())
    ids = []
    for column, value in [*DAMAGE.items(), ("created_at", math.nan), ("adapters", "[{}]"),
                          ("settings", "[1]"), ("title", None)]:
        session = ChatSession(id=f"dmg-{column}", title=f"Damaged {column}")
        chats.append(session, ChatMessage("user", "A question about tides"))
        chats.append(session, ChatMessage("assistant", "An answer about tides"))
        table = SESSIONS if column in ("created_at", "adapters", "settings", "title") else \
            MESSAGES
        where = f"id = '{session.id}'" if table is SESSIONS else \
            f"session_id = '{session.id}' AND role = 'assistant'"
        store.update(table.name, where, {column: value})
        ids.append(session.id)
    cases = []
    for chat_id in ids:
        cases += [Case(f"damaged:show:{chat_id}", ["sessions", "show", chat_id], home=home,
                       expect_ok=True),
                  Case(f"damaged:show-json:{chat_id}", ["sessions", "show", chat_id, "--json"],
                       home=home, expect_ok=True),
                  Case(f"damaged:export-md:{chat_id}", ["sessions", "export", chat_id,
                                                         str(work / f"{chat_id}.md")],
                       home=home, expect_ok=True),
                  Case(f"damaged:export-json:{chat_id}", ["sessions", "export", chat_id,
                                                           str(work / f"{chat_id}.json")],
                       home=home, expect_ok=True),
                  Case(f"damaged:ask:{chat_id}", ["ask", "--model", str(tiny), "--no-knowledge",
                                                  "--session", chat_id, "And the moon?"],
                       home=home, expect_ok=True, config=ASK_CONFIG)]
    cases.append(Case("damaged:list", ["sessions", "list", "--json"], home=home,
                      expect_ok=True))
    return cases


STREAM_CONFIG = ("[model.remote]\ntimeout_s = 3.0\nconnect_timeout_s = 2.0\n"
                 "idle_timeout_s = 3.0\nanswer_timeout_s = 4.0\n")
STREAM_DEADLINE_S = 4.0


def stream_cases(urls: dict[str, str]) -> list[Case]:
    """``ask --engine URL`` against servers that never finish (behaviour: URL), with short
    limits; each must end with one clean line well before the case's alarm."""
    return [Case(f"stream:{behaviour}", ["ask", "--engine", url, "--no-knowledge", "Hello?"],
                 config=STREAM_CONFIG, expect_ok=False, timeout_s=120)
            for behaviour, url in urls.items()]


def stream_problems(outcomes: list[Outcome], startup_s: float = 40.0) -> list[str]:
    """Answers that ran past their limit (plus the command's start-up) or named no limit."""
    problems = []
    for outcome in outcomes:
        if outcome.seconds > STREAM_DEADLINE_S + startup_s:
            problems.append(f"late {outcome.id} ran {outcome.seconds:.0f} s")
        if "_s under [model.remote]" not in outcome.stderr:
            problems.append(f"unnamed {outcome.id}: the message names no limit: "
                            f"{outcome.stderr.strip()[-200:]!r}")
    return problems
