"""What the running app does for ``loremind search`` and ``loremind ask`` sent over its socket.

The app has the model and the embedder loaded: a command that goes through it skips their
start-up (seconds of CPU). The replies are JSON objects (the wire format is in
:mod:`assistant.instance`): a search sends ``results``, an answer its events as
:func:`event_to_json` writes them; the last reply is ``end`` or ``error``. Nothing here blocks
a thread: a search is a job on the interactive lane, an answer a run followed as it goes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import InstanceError, LoremindError
from assistant.instance import Query

if TYPE_CHECKING:
    from assistant.core.app import Loremind

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], None]
MAX_RESULTS = 1000  # what `loremind search --k` accepts


def serve_query(core: Loremind, query: Query, send: Send, cancel: threading.Event) -> None:
    """Start ``query`` on ``core`` and return at once; each reply goes to ``send`` (from the
    core's lanes), the last one being ``end`` or ``error``. ``cancel`` stops an answer (the
    client hung up). Never raises: a failure is the last reply, ``error``."""
    def failed(exc: BaseException) -> None:
        if isinstance(exc, LoremindError):
            send({"kind": "error", "message": str(exc)})
            return
        log.error("Serving %s for the command line failed", query.kind, exc_info=exc)
        send({"kind": "error", "message": f"The running Loremind failed to {query.kind}: {exc}"})

    try:
        if query.kind == "search":
            _search(core, query.args, send, failed)
        else:
            _ask(core, query.args, send, cancel, failed)
    except Exception as exc:  # bad arguments, an unknown chat: said before anything ran
        failed(exc)


def _search(core: Loremind, args: dict[str, Any], send: Send,
            failed: Callable[[BaseException], None]) -> None:
    from assistant.core.scheduler import Lane

    k = _arg(args, "k", int)
    if not 1 <= k <= MAX_RESULTS:
        raise InstanceError(f"A search asks for 1 to {MAX_RESULTS} results, not {k}.")
    query = _arg(args, "query", str)
    folders = [Path(f) for f in _strings(args, "folders")]
    types = _strings(args, "types")

    def work() -> None:
        try:
            results = core.knowledge.search(query, k, folders, types)
            send({"kind": "results", "results": [r.to_json() for r in results],
                  "note": core.knowledge.read_only_reason or ""})
            send({"kind": "end"})
        except Exception as exc:
            failed(exc)

    core.scheduler.submit(work, owner="command line", title="A search for the command line",
                          lane=Lane.INTERACTIVE)


def _ask(core: Loremind, args: dict[str, Any], send: Send, cancel: threading.Event,
         failed: Callable[[BaseException], None]) -> None:
    from assistant.chat.answering import AskOptions
    from assistant.chat.events import Done, Event, Failed, event_to_json

    session_id = args.get("session_id")
    session = (core.chat.get(_arg(args, "session_id", str)) if session_id is not None
               else core.chat.new_session(temporary=_arg(args, "temporary", bool)))
    adapters = _arg(args, "adapters", list)
    if adapters:
        pairs = [(str(name), float(scale)) for name, scale in adapters]
        core.adapters.set_for_chat(session, pairs)
    options = AskOptions(use_knowledge=_arg(args, "use_knowledge", bool), cancel=cancel)
    run = core.chat.start(session, _arg(args, "question", str), options)

    def forward(event: Event) -> None:
        try:
            send(event_to_json(event))
            if isinstance(event, Done | Failed):
                send({"kind": "end", "model": core.models.loaded_id or "",
                      "session_id": None if session.temporary else session.id})
        except Exception as exc:
            failed(exc)

    so_far, _unfollow = run.follow(forward)
    for event in so_far:
        forward(event)


def _arg(args: dict[str, Any], name: str, kind: type) -> Any:
    value = args.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InstanceError(f"The command sent '{name}' as {value!r}; update Loremind so that "
                            "the command and the app are the same version.")
    return value


def _strings(args: dict[str, Any], name: str) -> list[str]:
    values = _arg(args, name, list)
    if not all(isinstance(v, str) for v in values):
        raise InstanceError(f"The command sent '{name}' as {values!r}, not a list of names.")
    return values
