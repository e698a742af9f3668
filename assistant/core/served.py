"""What the running app does for ``loremind search`` and ``loremind ask`` sent over its socket.

The app has the model and the embedder loaded: a command that goes through it skips their
start-up (seconds of CPU). The replies are JSON objects (the wire format is in
:mod:`assistant.instance`): a search sends ``results``, an answer its events as
:func:`event_to_json` writes them; the last reply is ``end`` or ``error``.
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
    """Do ``query`` on ``core``, passing each reply to ``send``; ``cancel`` stops an answer
    (the client hung up). Never raises: a failure is the last reply, ``error``."""
    try:
        if query.kind == "search":
            _search(core, query.args, send)
        else:
            _ask(core, query.args, send, cancel)
    except LoremindError as exc:
        send({"kind": "error", "message": str(exc)})
    except Exception as exc:  # a bug must reach the command as a message, not kill the lane
        log.exception("Serving %s for the command line failed", query.kind)
        send({"kind": "error", "message": f"The running Loremind failed to {query.kind}: {exc}"})


def _search(core: Loremind, args: dict[str, Any], send: Send) -> None:
    k = _arg(args, "k", int)
    if not 1 <= k <= MAX_RESULTS:
        raise InstanceError(f"A search asks for 1 to {MAX_RESULTS} results, not {k}.")
    results = core.knowledge.search(_arg(args, "query", str), k,
                                    [Path(f) for f in _strings(args, "folders")],
                                    _strings(args, "types"))
    send({"kind": "results", "results": [r.to_json() for r in results],
          "note": core.knowledge.read_only_reason or ""})
    send({"kind": "end"})


def _ask(core: Loremind, args: dict[str, Any], send: Send, cancel: threading.Event) -> None:
    from assistant.chat.assistant import AskOptions
    from assistant.chat.events import event_to_json

    session_id = args.get("session_id")
    session = (core.chat.get(_arg(args, "session_id", str)) if session_id is not None
               else core.chat.new_session(temporary=_arg(args, "temporary", bool)))
    adapters = _arg(args, "adapters", list)
    if adapters:
        pairs = [(str(name), float(scale)) for name, scale in adapters]
        core.adapters.set_for_chat(session, pairs)
    options = AskOptions(use_knowledge=_arg(args, "use_knowledge", bool), cancel=cancel)
    for event in core.chat.ask(session, _arg(args, "question", str), options):
        send(event_to_json(event))
    send({"kind": "end", "model": core.parts.model.model_id,
          "session_id": None if session.temporary else session.id})


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
