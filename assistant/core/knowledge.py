"""The knowledge area: watched folders, indexing jobs, overview, search.

Every sync - one the user started, the watcher's, a re-index - is a job of the core's scheduler
on its background lane, owned by its folder (``folder:<path>``): it yields while an answer runs,
stops within a second when cancelled (inside a large file too), and removing the folder
cancels it before its documents are purged. Every sync that changed the index is announced.

The embedder is chosen here too (:meth:`KnowledgeArea.use_embedder`): switching rebuilds the
index in the background while the old embedder answers (:mod:`assistant.core.embedder_switch`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.changes import Area, Change
from assistant.core.embedder_switch import EmbedderSwitch
from assistant.core.embedders import embedder_name, reranker_source
from assistant.core.scheduler import Job, Priority
from assistant.errors import LoremindError, StoreError
from assistant.knowledge.folders import folder_key, purge_folder
from assistant.knowledge.indexer import Indexer, ProgressCallback, SyncReport
from assistant.knowledge.overview import FolderOverview, folder_overviews
from assistant.knowledge.rebuild import RebuildProgress
from assistant.knowledge.search import SearchResult, search_knowledge
from assistant.statuses import DocumentStatus
from assistant.store import CHUNKS, DOCUMENTS, sql_str
from assistant.wording import plural

if TYPE_CHECKING:
    from assistant.core.app import Loremind
    from assistant.knowledge.watcher import FolderWatcher

log = logging.getLogger(__name__)
OWNER_PREFIX = "folder:"
STOP_TIMEOUT_S = 10.0  # a sync stops within one embedding batch; this is a safety margin


def folder_owner(folder: Path | str) -> str:
    """The scheduler owner of a folder's jobs."""
    return OWNER_PREFIX + folder_key(folder)


def sync_summary(name: str, report: SyncReport) -> str:
    """What a sync of the folder ``name`` did, in a sentence for a person: "Notes is up to
    date: 120 files unchanged", "Notes is indexed: 3 new, 1 changed (116 unchanged)", or what a
    stopped one kept and left waiting."""
    done = [f"{count} {what}" for count, what in (
        (report.added, "new"), (report.updated, "changed"), (report.renamed, "moved"),
        (report.removed, "removed"), (report.skipped, "skipped"), (report.failed, "failed"))
        if count]
    if report.cancelled:
        kept = ", ".join(done) if done else "nothing new was indexed"
        return (f"Indexing of {name} stopped: {kept}; {plural(report.waiting, 'file')} not "
                "indexed yet, indexed next time.")
    if not done:
        if not report.unchanged:
            return f"{name} has no files to index."
        return f"{name} is up to date: {plural(report.unchanged, 'file')} unchanged."
    unchanged = f" ({report.unchanged} unchanged)" if report.unchanged else ""
    return f"{name} is indexed: {', '.join(done)}{unchanged}."


class KnowledgeArea:
    """Folders the assistant may cite, kept in sync with the index."""

    def __init__(self, core: Loremind) -> None:
        self._core = core
        self._indexer: Indexer | None = None
        self._watcher: FolderWatcher | None = None
        self._watch_lock = threading.Lock()
        self._on_error: Callable[[Exception], None] | None = None
        self.watching_paused = False

    @property
    def indexer(self) -> Indexer:
        """The one indexer, over the core's store and embedder (created on first use)."""
        if self._indexer is None:
            parts = self._core.parts
            self._indexer = Indexer(parts.store, parts.embedder,
                                    self._core.current_settings.knowledge)
        return self._indexer

    # -- folders -------------------------------------------------------------------------------

    @property
    def folders(self) -> list[str]:
        """The watched folders, as saved in the settings."""
        return list(self._core.current_settings.knowledge.folders)

    def add_folder(self, folder: Path | str) -> Change:
        """Watch ``folder`` (saved in the settings); index it with :meth:`start_indexing`."""
        key = folder_key(folder)
        if key not in self.folders:
            self._save_folders([*self.folders, key])
            log.info("Watching %s: added to Knowledge", key)
        return self._changed("folder added", key)

    def remove_folder(self, folder: Path | str) -> Change:
        """Stop watching ``folder``: its sync in progress is cancelled (within a second), then
        its documents and chunks are dropped from the index."""
        key = folder_key(folder)
        self._save_folders([f for f in self.folders if f != key])
        if not self._core.scheduler.stop(folder_owner(key), STOP_TIMEOUT_S):
            log.warning("The sync of %s did not stop within %.0f s", key, STOP_TIMEOUT_S)
        store = self._core.parts.store
        documents = store.count(DOCUMENTS.name, f"folder = {sql_str(key)}")
        purge_folder(store, key)
        log.info("Stopped watching %s: %s left the index (the files are untouched)", key,
                 plural(documents, "document"))
        return self._changed("folder removed", key)

    def _save_folders(self, folders: list[str]) -> None:
        settings = self._core.current_settings
        knowledge = dataclasses.replace(settings.knowledge, folders=folders)
        self._core.settings.update(dataclasses.replace(settings, knowledge=knowledge))

    # -- indexing ------------------------------------------------------------------------------

    def start_indexing(self, folder: Path | str, progress: ProgressCallback | None = None,
                       cancel: threading.Event | None = None) -> Job:
        """Bring the index in line with ``folder`` as a background job (the folder becomes a
        watched one); the job's result is the SyncReport, its progress the latest Progress.
        Setting ``cancel`` stops it like cancelling the job."""
        key = folder_key(folder)
        if key not in self.folders:
            self.add_folder(key)
        scheduler = self._core.scheduler

        def work() -> SyncReport:
            job = scheduler.current_job()

            def report(state: Any) -> None:
                if job is not None:
                    job.report(state)
                if progress is not None:
                    progress(state)

            return self._sync(Path(key), None, report)

        return scheduler.submit(work, owner=folder_owner(key),
                                title=f"Indexing {Path(key).name or key}", cancel=cancel)

    def index(self, folder: Path | str, progress: ProgressCallback | None = None,
              cancel: threading.Event | None = None) -> SyncReport:
        """Index ``folder`` now and wait for it; setting ``cancel`` stops it within one
        embedding batch (what was done is kept; the next sync does the rest)."""
        job = self.start_indexing(folder, progress, cancel)
        job.wait()
        report: SyncReport = job.result()
        return report

    def stop_indexing(self, folder: Path | str | None = None) -> list[Job]:
        """Ask the folder's syncs (every sync, without a folder) to stop; they end at their next
        checkpoint. Returns them."""
        if folder is None:
            jobs = self.indexing_jobs()
            for job in jobs:
                job.cancel()
        else:
            jobs = self._core.scheduler.cancel(folder_owner(folder))
        log.info("Asked %s of %s to stop", plural(len(jobs), "sync"),
                 "every folder" if folder is None else folder_key(folder))
        return jobs

    def indexing_jobs(self) -> list[Job]:
        """The syncs queued or running, oldest first."""
        return self._core.scheduler.jobs(prefix=OWNER_PREFIX)

    def indexing_folders(self) -> set[str]:
        """The folders with a sync queued or running ("*" for a re-index of all)."""
        return {job.owner.removeprefix(OWNER_PREFIX) for job in self.indexing_jobs()}

    def reindex(self, progress: ProgressCallback | None = None) -> list[SyncReport]:
        """Re-embed every known document with the current embedder, and wait for it."""
        job = self._core.scheduler.submit(lambda: self.indexer.reindex(progress),
                                          owner=OWNER_PREFIX + "*", title="Re-indexing")
        reports: list[SyncReport] = job.result()
        self._changed("reindexed")
        return reports

    def maintain(self) -> None:
        """Compact the database and fold new rows into its indexes, and wait for it (the
        command line does it once indexing is done)."""
        self._core.scheduler.submit(self._core.parts.store.maintain, owner="maintenance",
                                    title="Compacting", priority=Priority.IDLE).result()

    def _sync(self, folder: Path, paths: list[Path] | None,
              progress: ProgressCallback | None = None) -> SyncReport:
        """One sync, on the background lane; announced when it changed something."""
        report = self.indexer.sync(folder, progress, only=paths)
        if report.changed or report.cancelled:
            log.info("%s (%.1f s)", sync_summary(str(folder), report), report.seconds)
            self._changed("indexed", str(folder))
        if paths is None and report.changed:
            self._core.parts.schedule_maintenance()
        return report

    # -- reading -------------------------------------------------------------------------------

    @property
    def read_only_reason(self) -> str:
        """Why this machine may only read the database (a shared one another machine writes,
        or a read-only data folder); empty when it may write."""
        return self._core.parts.store.read_only_reason

    def search(self, query: str, k: int = 5, folders: Sequence[Path] = (),
               types: Sequence[str] = ()) -> list[SearchResult]:
        """The ``k`` passages that best answer ``query`` — the same search the chat cites from,
        reranked when a reranker is chosen."""
        parts = self._core.parts
        embedder = parts.embedder
        budget = self._core.current_settings.knowledge.rerank_budget_ms
        try:
            return search_knowledge(parts.store, embedder, query, k, folders, types,
                                    reranker=parts.reranker, rerank_budget_ms=budget)
        except StoreError:
            if parts.embedder is embedder:
                raise
            # The index switched to another embedder under this search: once more with it.
            return search_knowledge(parts.store, parts.embedder, query, k, folders, types,
                                    reranker=parts.reranker, rerank_budget_ms=budget)

    def overview(self) -> list[FolderOverview]:
        """Each watched folder's documents by status, and the files not indexed with why."""
        return folder_overviews(self._core.parts.store, self.folders)

    def status(self) -> dict[str, Any]:
        """What the index holds: database, embedder, counts by status, files not indexed."""
        store = self._core.parts.store
        docs = store.rows(DOCUMENTS.name, columns=["path", "folder", "status", "reason"])
        problems = sorted((d for d in docs if d["status"] != DocumentStatus.INDEXED),
                          key=lambda d: d["path"])
        progress = self.rebuild_progress
        return {
            "database": str(store.db_dir),
            "schema_version": store.schema_version,
            "embedder": store.get_meta("embedder"),
            "embedder_wanted": self.embedder_wanted,
            "rebuilding": dataclasses.asdict(progress) if progress else None,
            "reranker": self._core.current_settings.knowledge.reranker,
            "vector_dim": store.vector_dim,
            "folders": sorted({d["folder"] for d in docs}),
            "documents": len(docs),
            "chunks": store.count(CHUNKS.name),
            "by_status": dict(Counter(d["status"] for d in docs)),
            "not_indexed": [{"path": d["path"], "status": d["status"], "reason": d["reason"]}
                            for d in problems],
        }

    # -- watching ------------------------------------------------------------------------------

    def start_watching(self, folders: Sequence[Path | str] | None = None,
                       on_error: Callable[[Exception], None] | None = None) -> None:
        """Follow ``folders`` (the watched folders by default) in the background, announcing
        each sync that changed something; replaces any earlier watcher."""
        from assistant.knowledge.watcher import FolderWatcher

        chosen = self.folders if folders is None else [str(f) for f in folders]
        existing = [Path(f) for f in chosen if os.path.isdir(f)]
        if on_error is not None:
            self._on_error = on_error
        with self._watch_lock:
            self._stop_watcher()
            # A shared store that another machine writes: that machine indexes, not this one.
            if not existing or self.watching_paused or self.read_only_reason:
                return
            self._watcher = FolderWatcher(self.indexer, existing, on_error=self._on_error,
                                          submit=self._submit_sync)
            self._watcher.start()

    def restart_watching(self) -> None:
        """Follow the folders the settings name now (only when already watching)."""
        if self._watcher is not None:
            self.start_watching()

    def settings_changed(self) -> None:
        """The knowledge settings changed: new file rules from the next sync on, only the
        folders still named are followed, and the index follows the embedder they name."""
        self._indexer = None
        self.restart_watching()
        if self._core.parts.loaded_store is not None:  # else loading the knowledge does it
            self.follow_embedder()

    def pause_watching(self, paused: bool) -> None:
        """Stop following the folders, or follow them again (catching up at once)."""
        self.watching_paused = paused
        self.start_watching()

    def stop_watching(self) -> None:
        """Stop the watcher (a sync of its in progress is cancelled)."""
        with self._watch_lock:
            self._stop_watcher()

    def wait_idle(self, timeout: float) -> bool:
        """Block until the watcher has nothing left to sync (True) or ``timeout`` passes."""
        watcher = self._watcher
        return True if watcher is None else watcher.wait_idle(timeout)

    def _submit_sync(self, folder: Path, paths: list[Path] | None) -> Job:
        what = "Syncing" if paths is not None else "Checking"
        return self._core.scheduler.submit(lambda: self._sync(folder, paths),
                                           owner=folder_owner(folder),
                                           title=f"{what} {folder.name or folder}")

    def _stop_watcher(self) -> None:
        old, self._watcher = self._watcher, None
        if old is not None:
            old.stop()

    # -- the retrieval models ------------------------------------------------------------------

    @functools.cached_property
    def _switch(self) -> EmbedderSwitch:
        return EmbedderSwitch(self._core)

    def use_embedder(self, source: str) -> Job | None:
        """Search with the embedder ``source`` names ("" or "builtin": the built-in
        all-MiniLM-L6-v2; a downloaded embedder of the catalogue; a GGUF embedding model's
        path), checked first (a ModelError says what is wrong). It is saved in the settings and
        the index is rebuilt with it in the background, searches using the old embedder until
        it is swapped in; returns that job (None when the index is made with it already)."""
        return self._switch.use(source)

    def follow_embedder(self) -> Job | None:
        """Start, or resume, the rebuild for the embedder the settings name, if the index is
        not made with it (the core does this once the knowledge has loaded). Why it cannot
        is logged and kept in ``embedder_problem``."""
        try:
            return self._switch.follow()
        except LoremindError as exc:
            log.warning("The index stays with its embedder: %s", exc)
            return None

    @property
    def embedder_problem(self) -> str:
        """Why the embedder the settings name is not being switched to ("" when it is)."""
        return self._switch.problem

    @property
    def embedder_in_use(self) -> str:
        """The name of the embedder the index is made with (searches embed with it)."""
        store = self._core.parts.store
        return store.get_meta("embedder") or self._core.parts.embedder.name

    @property
    def embedder_wanted(self) -> str:
        """The name of the embedder the settings name (the one in use once rebuilt)."""
        return embedder_name(self._core.current_settings.knowledge.embedder)

    @property
    def rebuild_progress(self) -> RebuildProgress | None:
        """How far the rebuild for another embedder has come; None when none runs."""
        return self._switch.progress

    def rebuild_text(self) -> str:
        """The rebuild in words, for a status bar ("" when none runs)."""
        return self._switch.text()

    def rebuild_jobs(self) -> list[Job]:
        """The jobs of the rebuild, queued or running."""
        return self._switch.jobs()

    def stop_rebuild(self) -> list[Job]:
        """Stop the rebuild: what it embedded is kept, and it resumes next time the app starts
        (or when the embedder is chosen again)."""
        return self._switch.stop()

    def wait_rebuild(self, progress: Callable[[RebuildProgress], None] | None = None,
                     cancel: threading.Event | None = None) -> str:
        """Wait for the rebuild to end, handing ``progress`` how far it is now and then
        (setting ``cancel`` stops it); what it did, in words. Raises its error, or
        WorkCancelled when it was stopped."""
        return self._switch.wait(progress, cancel)

    def use_reranker(self, source: str) -> Change:
        """Rerank search results with the reranker ``source`` names (a downloaded reranker of
        the catalogue, or a GGUF reranker's path; "" for none), checked first; saved in the
        settings, it loads on the next search."""
        choice = reranker_source(source, self._core.paths)
        settings = self._core.current_settings
        knowledge = dataclasses.replace(settings.knowledge, reranker=choice)
        self._core.settings.update(dataclasses.replace(settings, knowledge=knowledge))
        return self._changed("reranker", choice)

    def embedder_switched(self) -> None:
        """The index was switched to another embedder: syncs from now on embed with it."""
        self._indexer = None
        self.restart_watching()

    def _changed(self, action: str, *ids: str) -> Change:
        return self._core.changes.publish(Change(Area.KNOWLEDGE, action, ids))
