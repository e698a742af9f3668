"""``loremind adapters …``, the ``--adapter NAME[:SCALE]`` option of ``ask``, the adapter bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from assistant.bench.adapters import run_adapter_bench
from assistant.cli.app import cli_context, cli_core, main, reports_errors
from assistant.cli.bench import bench, print_result
from assistant.core import AdapterInfo

_MODEL_OPTION = click.option(
    "--model", "model_path", type=click.Path(path_type=Path), default=None,
    help="Judge against this GGUF model (default: the one in the settings, else the embedded one).",
)


@main.group()
def adapters() -> None:
    """LoRA adapters: the files in the adapters folders, and whether they fit the model."""


@adapters.command("list")
@_MODEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@reports_errors
def list_adapters(model_path: Path | None, as_json: bool) -> None:
    """Every adapter file found, compatible or not, with the reason when not."""
    ctx = cli_context()
    if model_path is None and ctx.settings.model.engine == "remote":
        _list_server_adapters(as_json)
        return
    folders = ctx.core.adapters.folders
    found = ctx.core.adapters.list(model_path)  # judged on the model file's header
    if as_json:
        click.echo(json.dumps([_summary(info) for info in found], indent=2))
        return
    if not found:
        click.echo("No adapters found. Put LoRA adapters (GGUF) in "
                   f"{', '.join(str(f) for f in folders)}.")
        return
    for info in found:
        state = "ok" if info.compatible else f"incompatible: {info.reason}"
        click.echo(f"{info.name}  (rank {info.rank}, alpha {info.alpha:g}, "
                   f"{info.size_bytes / 1e6:.1f} MB)  {state}\n    {info.path}")


def _list_server_adapters(as_json: bool) -> None:
    """The model runs on a server: its adapters are what the server can apply, said so."""
    note, mode, served = cli_core().adapters.served()
    click.echo(note, err=as_json)
    if as_json:
        click.echo(json.dumps([{**_summary(i), "mode": mode} for i in served], indent=2))
        return
    for info in served:
        click.echo(f"{info.name}  (on the server)\n    {info.path}")


@adapters.command("inspect")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@_MODEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def inspect(file: Path, model_path: Path | None, as_json: bool) -> None:
    """Everything an adapter file says about itself, and whether it fits the model."""
    info = cli_context().core.adapters.inspect(file, model_path)
    data = info.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        if isinstance(value, list | dict):
            value = ", ".join(value) if isinstance(value, list) else json.dumps(value)
        click.echo(f"{key}: {value}")


@bench.command("adapters")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--chat-tokens", default=1500, show_default=True,
              help="How long each of the two chats is.")
@reports_errors
def bench_adapters(as_json: bool, chat_tokens: int) -> None:
    """Going back to a chat with its own adapter (saved state) against a first switch and
    against reloading the default model with the adapter."""
    if not as_json:
        click.echo("Running the adapter benchmark (a minute or two)…", err=True)
    print_result(run_adapter_bench(threads=cli_context().settings.model.threads,
                                   chat_tokens=chat_tokens), as_json)
    sys.stdout.flush()


def _summary(info: AdapterInfo) -> dict[str, object]:
    keys = ("name", "path", "compatible", "reason", "rank", "alpha", "size", "architecture",
            "content_hash", "task_name")
    data = info.to_dict()
    return {key: data[key] for key in keys}
