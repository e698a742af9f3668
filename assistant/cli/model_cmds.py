"""``loremind models``: the catalogue, downloads, the model in use, and the Hugging Face token."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from assistant.cli.app import cli_core, main, reports_errors
from assistant.core import RETRIEVAL_KINDS, DownloadProgress, ModelManager, RetrievalRow, gigabytes
from assistant.errors import LoremindError

BAR_WIDTH = 28


def model_manager() -> ModelManager:
    """The model manager for this run's folders and settings file."""
    return cli_core().models.manager


@main.group()
def models() -> None:
    """Models: list the catalogue, download one, choose the chat model in use."""


@models.command("list")
@click.option("--kind", type=click.Choice(("chat", *RETRIEVAL_KINDS)), default="chat",
              show_default=True, help="Chat models, or the embedders or rerankers for search.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@reports_errors
def list_models(kind: str, as_json: bool) -> None:
    """The catalogue (with what fits this computer) and the models you have."""
    if kind != "chat":
        _list_retrieval(kind, as_json)
        return
    manager = model_manager()
    rows = manager.rows()
    if as_json:
        click.echo(json.dumps([row.to_json() for row in rows], indent=2))
        return
    machine = manager.machine()
    gpu = f", GPU {gigabytes(machine.vram_bytes)}" if machine.vram_bytes else \
        (", GPU offload available" if machine.gpu_offload else ", no GPU offload")
    click.echo(f"This computer: {gigabytes(machine.ram_bytes)} RAM{gpu}")
    using = manager.model_in_use()
    click.echo(f"In use: {using if using else 'the embedded demo (SmolLM2-135M)'}\n")
    for row in rows:
        marks = [m for m, on in (("in use", row.in_use), ("installed", row.installed),
                                 ("recommended", row.recommended), ("needs a token", row.gated),
                                 (f"{gigabytes(row.partial_bytes)} downloaded",
                                  row.partial_bytes > 0 and not row.installed)) if on]
        params = f"{row.params / 1e9:.1f}B" if row.params else "?"
        fit = "fits" if row.fits else "too big"
        click.echo(f"{'*' if row.recommended else ' '} {row.name:<16} {params:>5}  "
                   f"{gigabytes(row.size_bytes):>7}  {fit:<7}  {row.license:<13} "
                   f"{', '.join(marks)}")
    click.echo("\nDownload one with: loremind models pull NAME")


def _list_retrieval(kind: str, as_json: bool) -> None:
    rows: list[RetrievalRow] = cli_core().models.retrieval_models(kind)
    if as_json:
        click.echo(json.dumps([row.to_json() for row in rows], indent=2))
        return
    click.echo(f"{kind.capitalize()}s for search (run by llama.cpp):\n")
    for row in rows:
        marks = [m for m, on in (("installed", row.installed),
                                 (f"{gigabytes(row.partial_bytes)} downloaded",
                                  row.partial_bytes > 0 and not row.installed)) if on]
        size = f"{row.dimensions} dims" if row.dimensions else ""
        fit = "fits" if row.fits else "too big"
        click.echo(f"  {row.name:<26} {gigabytes(row.size_bytes):>7}  {size:>9}  "
                   f"{', '.join(row.languages):<13} {fit:<7}  {row.license:<11} "
                   f"{', '.join(marks)}")
        click.echo(f"    {row.summary}")
    click.echo("\nDownload one with: loremind models pull NAME")


@models.command()
@click.argument("name")
@reports_errors
def pull(name: str) -> None:
    """Download a catalogue model, check it, and keep it (an interrupted download resumes)."""
    manager = model_manager()
    entry = manager.entry(name)
    click.echo(f"Downloading {entry.title} ({entry.repo}/{entry.file})", err=True)
    last = [0.0]

    def show(progress: DownloadProgress) -> None:
        now = time.monotonic()
        if progress.phase == "downloading" and now - last[0] < 0.25 and progress.fraction != 1:
            return
        last[0] = now
        fraction = progress.fraction or 0.0
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        click.echo(f"\r[{bar}] {fraction * 100:3.0f}%  {progress.describe():<48}", err=True,
                   nl=False)

    try:
        installed = manager.pull(entry.name, show)
    except KeyboardInterrupt:
        click.echo("\nStopped. Run the same command to resume.", err=True)
        sys.exit(130)
    except LoremindError:
        click.echo("", err=True)  # end the progress line before the error
        raise
    click.echo("", err=True)
    if installed is None:
        click.echo("Cancelled; run the same command to resume.", err=True)
        sys.exit(1)
    click.echo(f"Installed {entry.name}: {installed.path}")
    if entry.kind == "chat":
        click.echo(f"Use it with: loremind models use {entry.name}")


@models.command()
@click.argument("name_or_path")
@reports_errors
def use(name_or_path: str) -> None:
    """Make an installed model (or any GGUF file) the one Loremind answers with."""
    path = model_manager().use(name_or_path)
    click.echo(f"Loremind now answers with {path}")


@models.command("rm")
@click.argument("name")
@reports_errors
def remove(name: str) -> None:
    """Delete a downloaded or imported model (and any partial download of it)."""
    manager = model_manager()
    was_in_use = manager.model_in_use()
    model = manager.remove(name)
    click.echo(f"Removed {model.name} ({gigabytes(model.size_bytes)} freed)")
    if was_in_use is not None and was_in_use == model.path.resolve():
        click.echo("It was in use: Loremind answers with the embedded demo model again.")


@models.command("import")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--name", default=None, help="The name to list it under (default: the file's).")
@reports_errors
def import_model(file: Path, name: str | None) -> None:
    """Check a GGUF model file you already have and add it to your models."""
    model = model_manager().import_file(file, name)
    click.echo(f"Imported {model.name}: {model.path}")
    click.echo(f"Use it with: loremind models use {model.name}")


@models.command("download-worker", hidden=True)
def download_worker() -> None:
    """Run one download for the app (its request arrives on stdin, its events leave on stdout)."""
    from assistant.core import run_download_worker

    sys.exit(run_download_worker())


@models.group()
def token() -> None:
    """The Hugging Face token for gated models, kept in the system keyring."""


@token.command("set")
@click.option("--token", "value", default=None,
              help="The token (default: asked for, without echo).")
@reports_errors
def token_set(value: str | None) -> None:
    """Store your Hugging Face token (from https://huggingface.co/settings/tokens)."""
    if value is None:
        value = click.prompt("Hugging Face token", hide_input=True, err=True)
    model_manager().set_token(value)
    click.echo("Token stored in the system keyring.")


@token.command("rm")
@reports_errors
def token_rm() -> None:
    """Remove the stored Hugging Face token."""
    removed = model_manager().remove_token()
    click.echo("Token removed." if removed else "No token was stored.")


@token.command("status")
@reports_errors
def token_status() -> None:
    """Say whether a token is stored (never prints it)."""
    stored = model_manager().has_token()
    click.echo("A token is stored in the system keyring." if stored else "No token is stored.")
