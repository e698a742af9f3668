"""``loremind index``, ``search``, ``knowledge status`` and ``bench knowledge``."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from assistant.cli.app import cli_context, main, reports_errors
from assistant.cli.bench import bench, print_result
from assistant.database import open_app_database
from assistant.store import CHUNKS, DOCUMENTS, Store


def open_store() -> Store:
    """The app's database (created on first use); says so when it is a shared one that this
    machine only reads."""
    ctx = cli_context()
    store = open_app_database(ctx.paths, ctx.settings.store)
    if store.read_only_reason:
        click.echo(f"Note: {store.read_only_reason}", err=True)
    return store


def open_indexer(store: Store) -> Any:
    """An indexer with the embedded embedder and the knowledge settings."""
    from assistant.knowledge import Embedder, Indexer  # loads torch: only for commands needing it

    return Indexer(store, Embedder(), cli_context().settings.knowledge)


class _Bar:
    """A progress bar on stderr, created when the first progress report says the total."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None
        self._shown = 0

    def __call__(self, progress: Any) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=max(progress.files_total, 1), label=self.label,
                                          file=sys.stderr, show_pos=True)
            self._bar.__enter__()
        self._bar.update(progress.files_done - self._shown)
        self._shown = progress.files_done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def _summary(folder: Path, report: Any) -> str:
    text = (f"{folder}: {report.added} added, {report.updated} updated, {report.renamed} "
            f"renamed, {report.removed} removed, {report.unchanged} unchanged; "
            f"{report.chunks} chunks embedded in {report.seconds:.1f}s")
    if report.skipped or report.failed:
        text += (f"; {report.skipped} skipped, {report.failed} failed "
                 "(see 'loremind knowledge status')")
    return text


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--watch", is_flag=True, help="Keep running and follow changes until Ctrl+C.")
@click.option("--reindex", is_flag=True, help="Re-embed every indexed document (after an "
              "embedder change).")
@reports_errors
def index(paths: tuple[Path, ...], watch: bool, reindex: bool) -> None:
    """Index folders so that their documents become searchable."""
    if not paths and not reindex:
        raise click.UsageError("Name at least one folder to index, or pass --reindex.")
    store = open_store()
    indexer = open_indexer(store)
    if reindex:
        bar = _Bar("Re-indexing")
        try:
            reports = indexer.reindex(bar)
        finally:
            bar.close()
        click.echo(f"Re-indexed {sum(r.chunks for r in reports)} chunks.")
    for folder in paths:
        bar = _Bar(f"Indexing {folder.name or folder}")
        try:
            report = indexer.sync(folder, bar)
        finally:
            bar.close()
        click.echo(_summary(folder.resolve(), report))
    store.maintain()  # fold the new rows into the indexes and compact while nobody waits
    if watch:
        _watch(indexer, list(paths))


def _watch(indexer: Any, folders: list[Path]) -> None:
    from assistant.knowledge import FolderWatcher

    def changed(folder: Path, report: Any) -> None:
        click.echo(_summary(folder, report))

    def failed(exc: Exception) -> None:
        click.echo(f"Error: {exc}", err=True)

    click.echo("Watching for changes; Ctrl+C stops.", err=True)
    with FolderWatcher(indexer, folders, on_sync=changed, on_error=failed):
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            click.echo("Stopped watching.", err=True)


@main.command()
@click.argument("query")
@click.option("--k", "k", default=5, show_default=True, help="How many results.")
@click.option("--folder", "folders", multiple=True, type=click.Path(path_type=Path),
              help="Only documents under this folder (repeatable).")
@click.option("--type", "types", multiple=True, help="Only this file type, e.g. pdf (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
@reports_errors
def search(query: str, k: int, folders: tuple[Path, ...], types: tuple[str, ...],
           as_json: bool) -> None:
    """Search indexed documents by meaning and by exact words."""
    from assistant.knowledge import Embedder, search_knowledge

    results = search_knowledge(open_store(), Embedder(), query, k, folders, types)
    if as_json:
        click.echo(json.dumps([
            {"path": r.path, "page": r.page, "heading": r.heading, "score": r.score,
             "text": r.text} for r in results
        ], indent=2))
        return
    if not results:
        click.echo("No results. Index a folder first: loremind index FOLDER")
    for number, r in enumerate(results, start=1):
        where = f"page {r.page}" if r.page else (r.heading or "")
        click.echo(f"[{number}] {r.path}" + (f" ({where})" if where else "") + f"  {r.score:.4f}")
        click.echo(f"    {r.snippet}")


@main.group()
def knowledge() -> None:
    """Inspect the knowledge index."""


@knowledge.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def knowledge_status(as_json: bool) -> None:
    """Documents by status, with the reason for each one not indexed."""
    store = open_store()
    docs = store.rows(DOCUMENTS.name, columns=["path", "folder", "status", "reason", "chunks"])
    problems = sorted((d for d in docs if d["status"] != "indexed"), key=lambda d: d["path"])
    report = {
        "database": str(store.db_dir),
        "schema_version": store.schema_version,
        "embedder": store.get_meta("embedder"),
        "vector_dim": store.vector_dim,
        "folders": sorted({d["folder"] for d in docs}),
        "documents": len(docs),
        "chunks": store.count(CHUNKS.name),
        "by_status": dict(Counter(d["status"] for d in docs)),
        "not_indexed": [{"path": d["path"], "status": d["status"], "reason": d["reason"]}
                        for d in problems],
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for key in ("database", "schema_version", "embedder", "documents", "chunks"):
        click.echo(f"{key}: {report[key]}")
    click.echo("folders: " + (", ".join(report["folders"]) or "none yet"))
    click.echo("by status: " + ", ".join(f"{s} {n}" for s, n in report["by_status"].items()))
    for item in report["not_indexed"]:
        click.echo(f"  {item['status']:<8} {item['path']}: {item['reason']}")


@bench.command("knowledge")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--files", default=300, show_default=True, help="Documents in the generated corpus.")
@click.option("--scale", default=0, help="Also time queries over this many synthetic chunks.")
@reports_errors
def bench_knowledge(as_json: bool, files: int, scale: int) -> None:
    """Embedder vs indexing speed, re-sync time and hybrid query latency."""
    from assistant.bench.knowledge import run_knowledge_bench

    if not as_json:
        click.echo("Running the knowledge benchmark (a few minutes)…", err=True)
    print_result(run_knowledge_bench(files, scale), as_json)
