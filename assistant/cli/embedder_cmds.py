"""``loremind bench embedder``: the shipped embedder on sentence-transformers against llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistant.cli.app import reports_errors
from assistant.cli.bench import bench


@bench.command("embedder")
@click.option("--chunks", default=1000, show_default=True,
              help="Real documentation chunks whose two vectors are compared.")
@click.option("--files", default=40, show_default=True,
              help="Documentation pages in the folder each runtime indexes.")
@click.option("--no-sweep", is_flag=True, help="Leave out llama.cpp's batch sizes.")
@click.option("--home", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the converted model and the corpus in this folder for the next run.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def bench_embedder(chunks: int, files: int, no_sweep: bool, home: Path | None,
                   as_json: bool) -> None:
    """all-MiniLM-L6-v2 on sentence-transformers and on llama.cpp (converted to GGUF): how
    equal their vectors are, and launch-to-first-search, memory, indexing and query speed."""
    from assistant.bench.embedder import run_embedder_bench

    if not as_json:
        click.echo("Comparing the two runtimes (a few minutes)…", err=True)
    result = run_embedder_bench(chunks, files, sweep=not no_sweep, home=home)
    if as_json:
        click.echo(json.dumps(result))
        return
    for key, value in result.items():
        click.echo(f"{key:<36}  {json.dumps(value)}")
