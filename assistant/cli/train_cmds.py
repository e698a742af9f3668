"""``loremind adapters train|card|delete``: teach an adapter from your data, and read its card."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from assistant.cli.adapter_cmds import adapters
from assistant.cli.app import cli_core, reports_errors
from assistant.core import LoraSettings, TeachSource, card_lines, plural
from assistant.errors import TrainingError


@adapters.command("train")
@click.argument("name")
@click.option("--texts", "texts", multiple=True, type=click.Path(path_type=Path),
              help="Files or folders of your own writing (\"write like me\"); repeatable.")
@click.option("--pairs", "pairs", type=click.Path(path_type=Path),
              help="A JSONL file of {\"prompt\": …, \"response\": …} (\"answer like this\").")
@click.option("--from-chats", is_flag=True, help="The chat answers you marked as examples.")
@click.option("--rank", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--steps", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Learning rate.")
@click.option("--batch-size", type=click.IntRange(1, 256), default=4, show_default=True)
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Train for this GGUF model (default: the one in use).")
@click.option("--json", "as_json", is_flag=True, help="Print progress and the card as JSON lines.")
@reports_errors
def train(name: str, texts: tuple[Path, ...], pairs: Path | None, from_chats: bool, rank: int,
          steps: int, lr: float, batch_size: int, model_path: Path | None,
          as_json: bool) -> None:
    """Train the adapter NAME on the model in use, from the data you give, and no other."""
    chosen = [kind for kind, given in (("texts", texts), ("pairs", pairs),
                                       ("chats", from_chats)) if given]
    if len(chosen) != 1:
        raise TrainingError("Choose one kind of data: --texts PATH…, --pairs FILE or "
                            "--from-chats.")
    teach = cli_core().teach
    model = teach.model_file(model_path)
    settings = LoraSettings(rank=rank, alpha=2 * rank, steps=steps, lr=lr,
                            batch_size=batch_size)
    source = TeachSource(chosen[0], tuple(texts) if texts else ((pairs,) if pairs else ()))
    data = teach.prepare(source, settings, model)
    _show_preview(data.counts(), data.preview(3), data.notes, as_json)
    run = teach.start(name, data, settings, model=model)
    try:
        for event in run:
            _show_event(event, as_json)
    except KeyboardInterrupt:  # the worker got the same Ctrl-C and stops at once
        run.cancel()
        for _event in run:  # its last words: "cancelled", and the staging files cleaned
            pass
    done = run.outcome()
    teach.announce_trained(name)
    if as_json:
        click.echo(json.dumps({"event": "card", "path": done["path"], "card": done["card"]}))
    else:
        click.echo(f"Adapter '{name}' written to {done['path']}")
        for line in card_lines(done["card"]):
            click.echo(f"  {line}")


@adapters.command("card")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON.")
@reports_errors
def card(name: str, as_json: bool) -> None:
    """What the adapter NAME was trained on, with which settings, and how well it did."""
    _path, data = cli_core().teach.card_of(name)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for line in card_lines(data):
        click.echo(line)


@adapters.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def delete(name: str, yes: bool) -> None:
    """Delete the adapter NAME and its card."""
    core = cli_core()
    info = core.adapters.find(name)
    if not yes:
        click.confirm(f"Delete {info.path}?", abort=True)
    core.teach.delete(info.path)
    click.echo(f"Deleted {info.path}")


@adapters.command("example")
@click.argument("session_id")
@click.option("--message", "message_id", default=None,
              help="The answer's id (default: the chat's last answer).")
@click.option("--rewrite", default="", help="Your own version of the answer, to learn instead.")
@click.option("--remove", is_flag=True, help="Stop using the answer as an example.")
@reports_errors
def example(session_id: str, message_id: str | None, rewrite: str, remove: bool) -> None:
    """Mark a chat answer (or your rewrite of it) as an example for --from-chats."""
    teach = cli_core().teach
    if remove:
        gone = teach.unmark_example(session_id, message_id)
        click.echo("No longer an example." if gone else "It was not an example.")
        return
    chat, answer = teach.mark_example(session_id, message_id, rewrite)
    click.echo(f"Answer {answer.id} of '{chat.title}' is an example"
               + (" (your rewrite)." if rewrite.strip() else "."))


@adapters.command("train-worker", hidden=True)
@click.argument("job_dir", type=click.Path(path_type=Path, file_okay=False))
def train_worker(job_dir: Path) -> None:
    """The training process itself, for the bundle (elsewhere: python -m …worker)."""
    from assistant.core import run_training_worker

    sys.exit(run_training_worker(job_dir))


def _show_preview(counts: dict[str, int], preview: list[dict[str, Any]], notes: list[str],
                  as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"event": "preview", "counts": counts, "examples": preview,
                               "notes": notes}))
        return
    click.echo(f"{plural(counts['examples'], 'example')} ({counts['heldout_examples']} held "
               f"out), {plural(counts['tokens'], 'token')}, {counts['trained_tokens']} trained",
               err=True)
    for example in preview:
        text = example["text"].replace("\n", " ")
        click.echo(f"  [{plural(example['tokens'], 'token')}] {text[:100]}", err=True)
    for note in notes:
        click.echo(f"  note: {note}", err=True)


def _show_event(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        if event["event"] != "done":
            click.echo(json.dumps(event))
        return
    kind = event["event"]
    if kind == "step":
        click.echo(f"\rstep {event['step']}/{event['steps']}  loss {event['loss']:.3f}  "
                   f"{event['tokens_per_s']:.0f} tokens/s  {event['seconds_left']:.0f} s left ",
                   nl=event["step"] == event["steps"], err=True)
    elif kind == "probe":
        click.echo(f"Probe: {event['seconds_per_step']:.2f} s per step, about "
                   f"{event['estimated_seconds']:.0f} s in all, "
                   f"{event['memory_bytes'] / 2**30:.1f} GiB of memory", err=True)
    elif kind in ("loading", "resumed", "exporting", "evaluating"):
        detail = f" from step {event['step']}" if kind == "resumed" else ""
        click.echo(f"{kind.capitalize()}{detail}…", err=True)
    sys.stderr.flush()
