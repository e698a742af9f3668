"""``loremind index``, ``search``, ``knowledge status`` and ``bench knowledge``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistant.cli.app import cli_context, cli_core, main, reports_errors
from assistant.cli.bench import bench, print_result
from assistant.core import WorkCancelled, plural

if TYPE_CHECKING:
    from assistant.core.knowledge import KnowledgeArea

EXIT_INTERRUPTED = 130  # what shells report for a command stopped by Ctrl+C


def open_knowledge() -> KnowledgeArea:
    """The core's knowledge area; says so when the database is a shared one this machine only
    reads."""
    knowledge = cli_core().knowledge
    if knowledge.read_only_reason:
        click.echo(f"Note: {knowledge.read_only_reason}", err=True)
    return knowledge


@contextlib.contextmanager
def ctrl_c_cancels() -> Iterator[threading.Event]:
    """A cancel token that the first Ctrl+C sets (the sync stops within a second and keeps
    what it did); a second Ctrl+C interrupts at once."""
    cancel = threading.Event()

    def first(_signum: int, _frame: Any) -> None:
        cancel.set()
        click.echo("\nStopping… (Ctrl+C again to quit at once)", err=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


PLAIN_PROGRESS_EVERY_S = 5.0


class _Bar:
    """A progress bar on stderr, created when the first report says the total. click draws no
    bar into a pipe or a log: there, a plain line now and then instead. ``count`` reads (done,
    total) from a report, ``line`` the plain line, ``item`` what the bar shows beside it."""

    def __init__(self, label: str, count: Callable[[Any], tuple[int, int]],
                 line: Callable[[Any], str],
                 item: Callable[[Any], str | None] = lambda progress: None) -> None:
        self.label = label
        self._count, self._line, self._item = count, line, item
        self._bar: Any = None
        self._shown = 0
        self._last_line = 0.0

    def __call__(self, progress: Any) -> None:
        if not sys.stderr.isatty():
            if time.monotonic() - self._last_line >= PLAIN_PROGRESS_EVERY_S:
                self._last_line = time.monotonic()
                click.echo(self._line(progress), err=True)
            return
        done, total = self._count(progress)
        if self._bar is None:
            self._bar = click.progressbar(length=max(total, 1), label=self.label,
                                          file=sys.stderr, show_pos=True,
                                          item_show_func=lambda item: item)
            self._bar.__enter__()
        self._bar.update(done - self._shown, current_item=self._item(progress))
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def _files_bar(label: str) -> _Bar:
    """Files indexed on the bar; the chunk count beside it moves while one large file streams
    through (the file count does not)."""
    return _Bar(label, lambda p: (p.files_done, p.files_total),
                lambda p: f"{label}: {p.files_done}/{p.files_total} files, "
                          f"{p.chunks_done} chunks",
                lambda p: f"{p.chunks_done} chunks")


def _summary(folder: Path, report: Any) -> str:
    text = (f"{folder}: {report.added} added, {report.updated} updated, {report.renamed} "
            f"renamed, {report.removed} removed, {report.unchanged} unchanged; "
            f"{plural(report.chunks, 'chunk')} embedded in {report.seconds:.1f}s")
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
    """Index folders so that their documents become searchable; they become watched folders
    (the app keeps them in sync; `loremind knowledge remove FOLDER` forgets one)."""
    if not paths and not reindex:
        raise click.UsageError("Name at least one folder to index, or pass --reindex.")
    knowledge = open_knowledge()
    if reindex:
        bar = _files_bar("Re-indexing")
        try:
            reports = knowledge.reindex(bar)
        finally:
            bar.close()
        click.echo(f"Re-indexed {plural(sum(r.chunks for r in reports), 'chunk')}.")
    with ctrl_c_cancels() as cancel:
        for folder in paths:
            bar = _files_bar(f"Indexing {folder.name or folder}")
            try:
                report = knowledge.index(folder, bar, cancel)
            finally:
                bar.close()
            if report.folder_removed:
                raise click.ClickException(
                    f"{folder.resolve()} was removed from Knowledge while it was indexed; "
                    "nothing of it is kept in the index.")
            click.echo(_summary(folder.resolve(), report))
            if report.cancelled:
                click.echo("Stopped: what was indexed is kept; run the same command to "
                           "index the rest.", err=True)
                sys.exit(EXIT_INTERRUPTED)
    knowledge.maintain()  # fold the new rows into the indexes and compact while nobody waits
    if watch:
        _watch(knowledge, list(paths))


def _watch(knowledge: KnowledgeArea, folders: list[Path]) -> None:
    from assistant.core import Area, Change

    def changed(change: Change) -> None:
        if change.about(Area.KNOWLEDGE) and change.action == "indexed":
            click.echo(f"{change.ids[0]}: synced", err=True)

    def failed(exc: Exception) -> None:
        click.echo(f"Error: {exc}", err=True)

    click.echo("Watching for changes; Ctrl+C stops.", err=True)
    unsubscribe = cli_core().changes.subscribe(changed)
    knowledge.start_watching(folders, on_error=failed)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        click.echo("Stopped watching.", err=True)
    finally:
        unsubscribe()
        knowledge.stop_watching()


@main.command()
@click.argument("query")
@click.option("--k", "k", default=5, show_default=True, type=click.IntRange(1, 1000),
              help="How many results.")
@click.option("--folder", "folders", multiple=True, type=click.Path(path_type=Path),
              help="Only documents under this folder (repeatable).")
@click.option("--type", "types", multiple=True, help="Only this file type, e.g. pdf (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
@reports_errors
def search(query: str, k: int, folders: tuple[Path, ...], types: tuple[str, ...],
           as_json: bool) -> None:
    """Search indexed documents by meaning and by exact words."""
    results = _search_running_app(query, k, folders, types)
    if results is None:
        results = [r.to_json() for r in open_knowledge().search(query, k, folders, types)]
    if as_json:
        click.echo(json.dumps([
            {"path": r["path"], "page": r["page"], "heading": r["heading"], "score": r["score"],
             "similarity": r["similarity"], "text": r["text"]} for r in results
        ], indent=2))
        return
    if not results:
        click.echo("No results. Index a folder first: loremind index FOLDER")
    for number, r in enumerate(results, start=1):
        # Where in the document the passage is, so the reader sees why it was picked.
        where = " · ".join(part for part in (r["heading"], f"page {r['page']}" if r["page"]
                                             else "") if part)
        click.echo(f"[{number}] {r['path']}" + (f" ({where})" if where else "")
                   + f"  {r['score']:.4f}")
        click.echo(f"    {r['snippet']}")


def _search_running_app(query: str, k: int, folders: tuple[Path, ...],
                        types: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """The results from the running app, whose embedder is loaded already (seconds saved);
    None when no app runs or it fails, and the search is done here."""
    from assistant.errors import InstanceError, LoremindError
    from assistant.instance import Query, query_app

    # Folders are made absolute here: the app's working folder is not this one.
    args = {"query": query, "k": k, "types": list(types),
            "folders": [os.path.abspath(os.path.expanduser(f)) for f in folders]}
    replies = query_app(Query("search", args))
    if replies is None:
        return None
    try:
        for reply in replies:
            if reply["kind"] == "error":
                raise LoremindError(reply["message"])
            if reply["kind"] == "results":
                if reply["note"]:
                    click.echo(f"Note: {reply['note']}", err=True)
                return list(reply["results"])
    except InstanceError:  # the app stopped half-way: nothing is printed yet
        pass
    return None


@main.group()
def knowledge() -> None:
    """Inspect the knowledge index."""


@knowledge.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def knowledge_status(as_json: bool) -> None:
    """Documents by status, with the reason for each one not indexed."""
    report = open_knowledge().status()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for key in ("database", "schema_version", "embedder", "documents", "chunks"):
        click.echo(f"{key}: {report[key]}")
    if report["rebuilding"]:
        from assistant.core import RebuildProgress, rebuild_text

        click.echo(rebuild_text(RebuildProgress(**report["rebuilding"])))
    click.echo("folders: " + (", ".join(report["folders"]) or "none yet"))
    click.echo("by status: " + ", ".join(f"{s} {n}" for s, n in report["by_status"].items()))
    for item in report["not_indexed"]:
        click.echo(f"  {item['status']:<8} {item['path']}: {item['reason']}")


@knowledge.command("remove")
@click.argument("folder", type=click.Path(path_type=Path))
@reports_errors
def knowledge_remove(folder: Path) -> None:
    """Stop watching FOLDER and drop its documents from the index (its files are untouched)."""
    knowledge = open_knowledge()
    key = str(Path(os.path.abspath(os.path.expanduser(folder))).resolve())
    known = set(knowledge.folders) | set(knowledge.status()["folders"])
    if key not in known:
        raise click.UsageError(f"{key} is not a watched folder. `loremind knowledge status` "
                               "lists them.")
    knowledge.remove_folder(key)
    click.echo(f"Removed {key}: its documents are no longer searchable.")


@knowledge.command("embedder")
@click.argument("name", required=False)
@reports_errors
def knowledge_embedder(name: str | None) -> None:
    """Show the embedder search uses, or switch to NAME: 'builtin' (all-MiniLM-L6-v2), a
    downloaded embedder ('loremind models list --kind embedder'), or a GGUF embedding model.
    The index is rebuilt with it while searches go on with the old one; Ctrl+C stops, and the
    same command (or starting the app) resumes where it stopped."""
    knowledge = open_knowledge()
    if name is None:
        wanted = knowledge.status()["embedder_wanted"]
        click.echo(f"in use: {knowledge.embedder_in_use}")
        if wanted != knowledge.embedder_in_use:
            click.echo(f"chosen: {wanted} (the index is rebuilt with it when the app runs, or "
                       f"with 'loremind knowledge embedder {wanted}')")
        return
    from assistant.instance import instance_running

    if instance_running():
        raise click.ClickException("Loremind is running: choose the embedder on its Models "
                                   "page (it rebuilds the index there), or quit it first.")
    if knowledge.use_embedder(name) is None:
        click.echo(f"The index already uses {knowledge.embedder_in_use}.")
        return
    from assistant.core import rebuild_text

    bar = _Bar(f"Rebuilding for {knowledge.embedder_wanted}",
               lambda p: (p.chunks_done, p.chunks_total), rebuild_text)
    try:
        with ctrl_c_cancels() as cancel:
            summary = knowledge.wait_rebuild(bar, cancel)
    except WorkCancelled:
        bar.close()
        click.echo("Stopped: what was embedded is kept; run the same command to go on.",
                   err=True)
        sys.exit(EXIT_INTERRUPTED)
    bar.close()
    click.echo(f"The index now uses {knowledge.embedder_in_use}: {summary}.")


@knowledge.command("reranker")
@click.argument("name", required=False)
@reports_errors
def knowledge_reranker(name: str | None) -> None:
    """Show the reranker, or rerank search results with NAME: a downloaded reranker
    ('loremind models list --kind reranker') or a GGUF reranker; 'none' for none."""
    knowledge = open_knowledge()
    if name is not None:
        knowledge.use_reranker(name)
    chosen = knowledge.status()["reranker"]
    click.echo(f"reranker: {chosen or 'none'}")


@bench.command("knowledge")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--corpus", type=click.Choice(["generated", "debian"]), default="generated",
              show_default=True, help="debian: all of Debian's PostgreSQL and git "
              "documentation and the Linux man pages (installed by apt when missing).")
@click.option("--files", default=300, show_default=True,
              help="Documents in the generated corpus.")
@click.option("--home", type=click.Path(path_type=Path, file_okay=False),
              help="With --corpus debian: keep the corpus and its index in this folder; the "
              "next run finishes an unfinished index or re-syncs a finished one.")
@click.option("--limit", type=click.IntRange(1), help="With --corpus debian: only this many "
              "files, spread over the packages (quick runs).")
@click.option("--scale", default=0, type=click.IntRange(0), help="With --corpus debian: also "
              "search over this many distinct real passages (its chunks, then docstrings).")
@reports_errors
def bench_knowledge(as_json: bool, corpus: str, files: int, home: Path | None,
                    limit: int | None, scale: int) -> None:
    """Indexing speed, re-sync time and search latency (idle and while an answer streams)."""
    if corpus == "generated":
        if home or limit or scale:
            raise click.UsageError("--home, --limit and --scale need --corpus debian.")
        from assistant.bench.knowledge import run_knowledge_bench

        if not as_json:
            click.echo("Running the knowledge benchmark (a few minutes)…", err=True)
        print_result(run_knowledge_bench(files), as_json)
        return
    from assistant.bench.knowledge import run_real_bench

    if not as_json:
        click.echo("Running the real-size knowledge benchmark (the whole corpus takes an hour "
                   "or more on two cores; Ctrl+C stops and keeps what --home indexed)…", err=True)
    bar = _files_bar("Indexing")
    with ctrl_c_cancels() as cancel:
        try:
            result = run_real_bench(home, limit, scale, cancel, bar)
        finally:
            bar.close()
    if result.get("cancelled"):
        click.echo("Stopped: run the same command again to index the rest." if home else
                   "Stopped.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    print_result(result, as_json)


@bench.command("contention")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False),
              help="The chat model (default: the one in the settings, else the embedded one).")
@click.option("--files", default=300, show_default=True, help="Files in the folder indexed.")
@click.option("--questions", default=5, show_default=True, help="Questions asked each way.")
@click.option("--cancels", default=10, show_default=True, help="Stops at random moments.")
@reports_errors
def bench_contention(as_json: bool, model_path: Path | None, files: int, questions: int,
                     cancels: int) -> None:
    """Answers, memory edits and stops while a large folder of real documentation indexes,
    against the same answers on an idle machine."""
    from assistant.bench.contention import run_contention_bench

    if not as_json:
        click.echo("Running the contention benchmark (a few minutes)…", err=True)
    configured = cli_context().settings.model.path
    chosen = model_path or (Path(configured).expanduser() if configured else None)
    print_result(run_contention_bench(chosen, files, questions=questions, cancels=cancels),
                 as_json)
