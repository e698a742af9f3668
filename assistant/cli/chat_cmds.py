"""``loremind ask`` and ``loremind chat``: the terminal front end of the core's chat area."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistant.cli.app import cli_context, main, reports_errors
from assistant.cli.options import ADAPTER_OPTION, ENGINE_OPTION, MODEL_OPTION, parse_adapter_specs

if TYPE_CHECKING:  # the core's parts pull in LanceDB: loaded when a question is asked, so
    # that `ask --popup` hands over to the running app at once
    from assistant.core import ChatSession, Event, Loremind

TEMPORARY_OPTION = click.option(
    "--temporary", is_flag=True,
    help="A temporary chat: nothing is stored, memory is neither read nor written.")


def open_core(model_path: Path | None, engine_url: str | None = None) -> Loremind:
    """The core over this user's settings and data (``--model`` and ``--engine`` override the
    settings for this run only)."""
    from assistant.config import with_engine_url

    ctx = cli_context()
    if model_path is not None:
        ctx.settings.model.path = str(model_path)
    ctx.settings.model = with_engine_url(ctx.settings.model, engine_url)
    return ctx.core


def _session(core: Loremind, session_id: str | None, temporary: bool,
             adapters: tuple[str, ...]) -> ChatSession:
    session = (core.chat.get(session_id) if session_id
               else core.chat.new_session(temporary=temporary))
    if adapters:
        core.adapters.set_for_chat(session, parse_adapter_specs(adapters))
    return session


@main.command()
@click.argument("question", required=False)
@MODEL_OPTION
@ENGINE_OPTION
@ADAPTER_OPTION
@click.option("--session", "session_id", default=None, help="Continue this stored chat.")
@TEMPORARY_OPTION
@click.option("--no-knowledge", is_flag=True, help="Don't search your documents.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of streaming.")
@click.option("--popup", is_flag=True,
              help="Open the quick-ask window of the running app (starting it if needed); "
                   "QUESTION, if given, is asked there. Bind this to a keyboard shortcut.")
@reports_errors
def ask(question: str | None, model_path: Path | None, engine_url: str | None,
        adapters: tuple[str, ...], session_id: str | None, temporary: bool, no_knowledge: bool,
        as_json: bool, popup: bool) -> None:
    """Ask one question; the answer streams, with its sources and the memories it used."""
    if popup:
        if (model_path or engine_url or adapters or session_id or temporary or no_knowledge
                or as_json):
            raise click.UsageError("--popup takes only an optional QUESTION.")
        _open_popup(question or "")
        return
    if question is None:
        raise click.UsageError("Missing argument 'QUESTION' (or use --popup).")
    if model_path is None and engine_url is None and _ask_running_app(
            {"question": question, "session_id": session_id, "temporary": temporary,
             "use_knowledge": not no_knowledge, "adapters": parse_adapter_specs(adapters)},
            as_json):
        return
    from assistant.core import AskOptions

    core = open_core(model_path, engine_url)
    session = _session(core, session_id, temporary, adapters)
    options = AskOptions(use_knowledge=not no_knowledge)
    result = _consume(core.chat.ask(session, question, options), stream=not as_json)
    if as_json:
        click.echo(json.dumps({**result, "model": core.models.model_id,
                               "session_id": None if session.temporary else session.id}))


@main.command()
@MODEL_OPTION
@ADAPTER_OPTION
@click.option("--session", "session_id", default=None, help="Continue this stored chat.")
@TEMPORARY_OPTION
@reports_errors
def chat(model_path: Path | None, adapters: tuple[str, ...], session_id: str | None,
         temporary: bool) -> None:
    """An interactive chat in the terminal (Ctrl+D or /quit ends it, Ctrl+C stops an answer)."""
    from assistant.core import AskOptions

    core = open_core(model_path)
    session = _session(core, session_id, temporary, adapters)
    core.models.load()
    kind = "temporary chat (nothing is kept)" if temporary else "chat"
    click.echo(f"A {kind} with {core.models.loaded_title}. /quit or Ctrl+D to end.")
    while True:
        try:
            text = input("you> ")
        except EOFError:
            click.echo()
            return
        if text.strip() in {"/quit", "/exit"}:
            return
        if not text.strip():
            continue
        click.echo("loremind> ", nl=False)
        options = AskOptions()
        try:
            _consume(core.chat.ask(session, text, options), stream=True)
        except KeyboardInterrupt:
            options.cancel.set()
            click.echo(" [stopped]")


def _open_popup(question: str) -> None:
    """Hand quick ask to the running app without loading Qt or a model; else start the app."""
    from assistant.instance import Request, hand_over

    if hand_over(Request("popup", question)):
        return
    from assistant.cli.app import launch_gui

    sys.exit(launch_gui(minimized=True, popup=True, question=question))


def _ask_running_app(args: dict[str, Any], as_json: bool) -> bool:
    """Answer through the running app, whose model and embedder are loaded already (the same
    answer, stored in the same chats): False when no app runs, or when it fails before anything
    was printed, and the question is answered here."""
    from assistant.errors import InstanceError
    from assistant.instance import Query, query_app

    replies = query_app(Query("ask", args))
    if replies is None:
        return False
    end: dict[str, Any] = {}
    received = False

    def answer() -> Iterator[dict[str, Any]]:
        nonlocal received
        for reply in replies:
            received = True
            if reply["kind"] == "end":
                end.update(reply)
            elif reply["kind"] == "error":
                raise InstanceError(reply["message"])
            else:
                yield reply

    try:
        result = _print_answer(answer(), stream=not as_json)
    except InstanceError:
        if received:
            raise
        return False
    if as_json:
        click.echo(json.dumps({**result, "model": end["model"], "session_id": end["session_id"]}))
    return True


def _consume(events: Iterable[Event], stream: bool) -> dict[str, Any]:
    """Print or collect one answer's events; raise the error of a Failed event."""
    from assistant.core import Failed, event_to_json

    def replies() -> Iterator[dict[str, Any]]:
        for event in events:
            if isinstance(event, Failed):
                raise event.error
            yield event_to_json(event)

    return _print_answer(replies(), stream)


def _print_answer(replies: Iterable[dict[str, Any]], stream: bool) -> dict[str, Any]:
    """Print (``stream``) or collect one answer from its events as JSON objects (made here or
    by the running app); raise the error of a failed answer."""
    from assistant.errors import LoremindError

    result: dict[str, Any] = {"sources": [], "memories_used": [], "memories_proposed": [],
                              "notices": []}
    for reply in replies:
        kind = reply["kind"]
        if kind == "token" and stream:
            click.echo(reply["text"], nl=False)
        elif kind == "notice":
            result["notices"].append(reply["text"])
            if stream:
                click.echo(f"[{reply['text']}]", err=True)
        elif kind == "memories_used":
            result["memories_used"] = reply["memories"]
        elif kind == "memory_proposed":
            result["memories_proposed"].append(reply["memory"])
        elif kind == "failed":
            raise LoremindError(reply["message"])
        elif kind == "done":
            _finish(reply, result, stream)
        elif kind == "sources":
            result["sources"] = reply["citations"]
    return result


def _finish(done: dict[str, Any], result: dict[str, Any], stream: bool) -> None:
    stats = done["stats"]
    result.update(text=done["text"], prompt_tokens=stats["prompt_tokens"],
                  completion_tokens=stats["completion_tokens"],
                  seconds=round(stats["seconds"], 3), finish_reason=stats["finish_reason"],
                  adapters=stats["adapters"], engine=stats["engine"])
    if not stream:
        return
    click.echo()
    for source in result["sources"]:
        where = source["path"] + (f", page {source['page']}" if source["page"] else "")
        click.echo(f"  [{source['number']}] {where}" +
                   (f" — {source['heading']}" if source["heading"] else ""))
    for memory in result["memories_proposed"]:
        verb = "Remembered" if memory["status"] == "active" else "Proposed memory"
        hint = "" if memory["status"] == "active" else \
            f" (keep it: loremind memory approve {memory['id']})"
        click.echo(f"  {verb}: {memory['text']}{hint}")

