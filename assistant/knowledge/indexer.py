"""Make the store match a folder: add, re-chunk, rename and remove documents, crash-safely.

Every write replaces a document's chunks as a whole (delete by path, then add, under the store's
write lock), and a document row says "indexed" only after its chunks are stored. A run killed at
any moment therefore leaves rows the next run recognises as stale, and it converges: no
duplicate chunks, no orphans, nothing re-embedded that did not change.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import KnowledgeSettings
from assistant.errors import DocumentError, StoreError
from assistant.knowledge.chunking import Chunk, document_lead, embedding_text
from assistant.knowledge.embedding import TextEmbedder
from assistant.knowledge.files import (
    FileRules,
    Scan,
    content_hash,
    display_path,
    extension,
    has_storable_name,
    read_document,
    scan,
)
from assistant.knowledge.folders import purge_folder, removed_since
from assistant.knowledge.parsers import ReadBudget, Skipped, parse_document, timed_out_after
from assistant.knowledge.parsers.base import UNPACK_FACTOR
from assistant.knowledge.streaming import stream_chunks
from assistant.statuses import DocumentStatus
from assistant.store import CHUNKS, DOCUMENTS, Store, sql_in, sql_str
from assistant.work import WorkCancelled, checkpoint

log = logging.getLogger(__name__)

# Chunks per commit. A stop drops what was embedded since the last commit, so this bounds the
# work a cancel throws away to a few seconds of embedding (2 MB of plain text embeds at about
# 12 chunks/s on two busy cores), and progress moves as often.
BATCH_CHUNKS = 64
# The reason on the row of a file a stopped sync never reached: it waits for the next sync.
NOT_REACHED = "not indexed yet: indexing stopped before it; it is indexed next time"


class FolderRemoved(WorkCancelled):  # noqa: N818 - a stop, like WorkCancelled
    """The folder stopped being watched while it was indexed (perhaps by another process)."""


class EmbedderChangedError(StoreError):
    """The index holds vectors from another embedder; mixing them would make search meaningless."""


@dataclass
class Progress:
    """How far a sync has come, for progress bars."""

    files_done: int
    files_total: int
    chunks_done: int
    chunks_per_s: float
    path: str = ""


@dataclass
class SyncReport:
    """What a sync changed, by kind, and how long it took."""

    added: int = 0
    updated: int = 0
    renamed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    problems: dict[str, str] = field(default_factory=dict)
    cancelled: bool = False  # stopped early: what was done is kept, the rest waits for next time
    waiting: int = 0  # files a stopped sync did not reach, left pending for the next one
    started_at: float = 0.0  # time.time() when the sync began (a later removal stops it)
    folder_removed: bool = False  # stopped because the folder was removed: nothing is kept

    @property
    def changed(self) -> bool:
        """Whether the store was written to."""
        return bool(self.added or self.updated or self.renamed or self.removed
                    or self.skipped or self.failed)


ProgressCallback = Callable[[Progress], None]


@dataclass
class _Pending:
    row: dict[str, Any]
    chunks: list[Chunk]  # produced, not yet stored
    rest: Iterator[Chunk] = field(default_factory=lambda: iter(()))  # not yet produced
    written: int = 0  # chunks of this document stored so far
    complete: bool = False  # every chunk produced: its document row may say "indexed"
    lead: str = ""  # what the document is about (its opening words), embedded with every chunk


class Indexer:
    """Keeps the ``documents`` and ``chunks`` tables in step with watched folders."""

    def __init__(self, store: Store, embedder: TextEmbedder,
                 settings: KnowledgeSettings | None = None) -> None:
        settings = settings or KnowledgeSettings()
        self.store = store
        self.embedder = embedder
        self.rules = FileRules(tuple(settings.ignore), settings.max_file_mb * 1024 * 1024)
        self.read_seconds = settings.max_read_seconds

    # -- embedder identity ---------------------------------------------------------------------

    def check_embedder(self) -> None:
        """Record the embedder on first use; refuse to mix vectors from a different one."""
        recorded = self.store.get_meta("embedder")
        if recorded is None and self.store.count(CHUNKS.name) == 0:
            if self.store.vector_dim != self.embedder.dim:
                self.store.recreate_table(CHUNKS, self.embedder.dim)
            self.store.set_meta("embedder", self.embedder.name)
            return
        if recorded != self.embedder.name or self.store.vector_dim != self.embedder.dim:
            documents = self.store.count(DOCUMENTS.name, f"status = '{DocumentStatus.INDEXED}'")
            raise EmbedderChangedError(
                f"The knowledge index was built with '{recorded}' ({self.store.vector_dim} "
                f"dimensions) but the embedder is now '{self.embedder.name}' "
                f"({self.embedder.dim}). Run 'loremind index --reindex' to re-embed the "
                f"{documents} indexed documents."
            )

    def reindex(self, progress: ProgressCallback | None = None) -> list[SyncReport]:
        """Re-embed every known document with the current embedder, folder by folder."""
        with self.store.writing():
            docs = self.store.rows(DOCUMENTS.name)
            # Marking documents stale first means a crash anywhere below still ends in a re-index.
            self.store.upsert(DOCUMENTS.name, [
                {**row, "hash": "", "status": DocumentStatus.PENDING, "reason": "re-index",
                 "chunks": 0}
                for row in docs
            ])
            self.store.recreate_table(CHUNKS, self.embedder.dim)
            self.store.set_meta("embedder", self.embedder.name)
        folders = sorted({row["folder"] for row in docs})
        return [self.sync(Path(folder), progress) for folder in folders]

    # -- sync ----------------------------------------------------------------------------------

    def sync(self, folder: Path, progress: ProgressCallback | None = None,
             only: Iterable[Path] | None = None,
             cancel: threading.Event | None = None) -> SyncReport:
        """Bring the store in line with ``folder`` (or only the paths in ``only`` inside it).

        Setting ``cancel`` (or cancelling the job this runs in, see :mod:`assistant.work`)
        stops the sync at its next checkpoint, within one embedding batch even inside a large
        file: the files done so far are stored, the rest keep their old rows (a file stopped
        half-way is redone whole, a new one gets a pending row), and the next sync picks them
        up.
        """
        started = time.perf_counter()
        self.check_embedder()
        folder = Path(folder).expanduser().resolve()
        if not has_storable_name(folder):
            raise DocumentError(f"The folder {display_path(folder)} has a name that is not "
                                "valid UTF-8 text, which the index cannot store; rename it.")
        roots = None if only is None else sorted({Path(p) for p in only})
        found = scan(folder, self.rules, roots)
        report = SyncReport(started_at=time.time())
        known, stale, everyone = self._known_and_stale(folder, roots)
        if roots is not None and any(p not in found.files and p not in found.problems
                                     for p in known):
            # A deletion may be half of a move whose other half was reported apart (or not at
            # all, into a folder not yet watched): a whole-folder scan pairs the two, so the
            # moved file is not embedded again.
            found = scan(folder, self.rules)
            known, stale, everyone = self._known_and_stale(folder, None)

        gone = {p: row for p, row in known.items()
                if p not in found.files and p not in found.problems}
        # Any indexed document of the folder may be the origin of a move (the event for its
        # deletion may come later): _prepare checks that its old path is really gone.
        by_hash = {row["hash"]: p for p, row in everyone.items()
                   if row["status"] == DocumentStatus.INDEXED and p not in stale}
        todo: list[str] = []
        for path, info in found.files.items():
            row = known.get(path)
            if (row and path not in stale and row["size"] == info.st_size
                    and row["mtime_ns"] == info.st_mtime_ns and not self._retry(row)):
                report.unchanged += 1
            else:
                todo.append(path)
        self._record_problems(folder, found, known, report)
        try:
            self._process(folder, found, todo, known, stale, by_hash, gone, report, progress,
                          cancel)
            with self.store.writing():
                if removed_since(self.store, folder, report.started_at):
                    raise FolderRemoved()
        except FolderRemoved:
            # Whatever this sync wrote before it noticed goes too: nothing of it stays.
            report.cancelled = report.folder_removed = True
            purge_folder(self.store, folder)
            return report
        except WorkCancelled:
            report.cancelled = True
            report.waiting = self._mark_not_reached(folder, found, todo)
        if gone and not report.cancelled:
            paths = sorted(gone)
            with self.store.writing():
                self.store.delete(CHUNKS.name, sql_in("path", paths))
                self.store.delete(DOCUMENTS.name, sql_in("path", paths))
            report.removed += len(paths)
        report.seconds = time.perf_counter() - started
        return report

    def _known_and_stale(self, folder: Path, roots: list[Path] | None
                         ) -> tuple[dict[str, dict[str, Any]], set[str], dict[str, dict[str, Any]]]:
        """Documents under ``roots``, after deleting chunks no indexed document owns.

        Also returns the indexed documents whose stored chunk count is off (a run was killed),
        and every document of the folder.
        Reading and deleting happen under the write lock, so another writer's fresh chunks are
        never mistaken for orphans.
        """
        where = f"folder = {sql_str(str(folder))}"
        with self.store.writing():
            everyone = {row["path"]: row for row in self.store.rows(DOCUMENTS.name, where=where)}
            known = {p: row for p, row in everyone.items() if _under(p, roots)}
            paths = self.store.arrow(CHUNKS.name, where=where, columns=["path"]).column("path")
            counts = Counter(p for p in paths.to_pylist() if _under(p, roots))
            orphans = [p for p in counts
                       if known.get(p, {}).get("status") != DocumentStatus.INDEXED]
            if orphans:
                self.store.delete(CHUNKS.name, sql_in("path", orphans))
        stale = {p for p, row in known.items()
                 if row["status"] == DocumentStatus.INDEXED and counts.get(p, 0) != row["chunks"]}
        return known, stale | set(orphans), everyone

    def _retry(self, row: dict[str, Any]) -> bool:
        """Whether an unchanged file must be read again: pending, or now within the size or
        time limit."""
        too_large = row["reason"].startswith("larger than") and row["size"] <= self.rules.max_bytes
        too_slow = (timed_out_after(row["reason"]) or self.read_seconds) < self.read_seconds
        return row["status"] == DocumentStatus.PENDING or too_large or too_slow

    def _record_problems(self, folder: Path, found: Scan, known: dict[str, dict[str, Any]],
                         report: SyncReport) -> None:
        rows = []
        for path, (status, reason) in found.problems.items():
            row = known.get(path)
            report.problems[path] = reason
            if row and row["status"] == status and row["reason"] == reason:
                continue
            rows.append(_doc_row(path, folder, None, "", status, reason, 0))
            setattr(report, status.value, getattr(report, status.value) + 1)
        if rows:
            with self.store.writing():
                self.store.delete(CHUNKS.name, sql_in("path", [r["path"] for r in rows]))
                self.store.upsert(DOCUMENTS.name, rows)

    def _process(self, folder: Path, found: Scan, todo: list[str],
                 known: dict[str, dict[str, Any]], stale: set[str], by_hash: dict[str, str],
                 gone: dict[str, dict[str, Any]], report: SyncReport,
                 progress: ProgressCallback | None, cancel: threading.Event | None) -> None:
        """Parse and chunk files, embedding and writing them a batch at a time.

        Parsing runs on this thread on purpose: a reader thread beside torch fights it for the
        GIL and the cores, and on a two-core machine that costs more than it overlaps.
        """
        pending: list[_Pending] = []
        try:
            self._process_files(folder, found, todo, known, stale, by_hash, gone, report,
                                progress, cancel, pending)
        except WorkCancelled:
            self._drop_partial(pending)
            raise

    def _process_files(self, folder: Path, found: Scan, todo: list[str],
                       known: dict[str, dict[str, Any]], stale: set[str],
                       by_hash: dict[str, str], gone: dict[str, dict[str, Any]],
                       report: SyncReport, progress: ProgressCallback | None,
                       cancel: threading.Event | None, pending: list[_Pending]) -> None:
        """The loop of :meth:`_process`; ``pending`` always holds the documents produced but
        not fully stored, so that a stop can undo their partial writes."""
        batched = 0  # chunks produced and not yet stored
        started = time.perf_counter()
        total = len(todo) + report.unchanged
        done = report.unchanged
        for path in todo:
            _checkpoint(cancel)
            item = self._prepare(Path(path), folder, found.files[path], known.get(path), stale,
                                 by_hash, gone, report)
            if item is not None:
                pending.append(item)
                batched += len(item.chunks)
                for chunk in item.rest:  # a large document streams through in batches
                    _checkpoint(cancel)
                    item.chunks.append(chunk)
                    batched += 1
                    if batched >= BATCH_CHUNKS:
                        pending[:], batched = self._flush(pending, report), 0
                        if progress:
                            elapsed = max(time.perf_counter() - started, 1e-9)
                            progress(Progress(done, total, report.chunks,
                                              report.chunks / elapsed, path))
                item.complete = True
            done += 1
            if batched >= BATCH_CHUNKS:
                pending[:], batched = self._flush(pending, report), 0
            if progress:
                elapsed = max(time.perf_counter() - started, 1e-9)
                progress(Progress(done, total, report.chunks, report.chunks / elapsed, path))
        pending[:] = self._flush(pending, report)
        if progress:
            elapsed = max(time.perf_counter() - started, 1e-9)
            progress(Progress(total, total, report.chunks, report.chunks / elapsed))

    def _drop_partial(self, pending: list[_Pending]) -> None:
        """After a stop: the documents stored only in part lose those chunks and wait, marked
        pending, for the next sync (search never cites half a file, and nothing is orphaned)."""
        partial = [item for item in pending if item.written]
        if not partial:
            return
        with self.store.writing():
            self.store.delete(CHUNKS.name, sql_in("path", [i.row["path"] for i in partial]))
            self.store.upsert(DOCUMENTS.name, [
                {**item.row, "status": DocumentStatus.PENDING, "chunks": 0,
                 "reason": "indexing stopped in the middle of it; it is read again next time"}
                for item in partial])

    def _mark_not_reached(self, folder: Path, found: Scan, todo: list[str]) -> int:
        """After a stop: give the files to do that still have no row a pending one, so that the
        folder's overview counts them as waiting, and return how many files wait in all.

        Files with a row keep it (an indexed file that changed stays searchable as it was);
        one read of the folder's paths, under the write lock so no writer's row is missed.
        """
        where = f"folder = {sql_str(str(folder))}"
        with self.store.writing():
            rows = self.store.arrow(DOCUMENTS.name, where=where, columns=["path", "status"])
            status = dict(zip(rows.column("path").to_pylist(), rows.column("status").to_pylist(),
                              strict=True))
            new = [_doc_row(p, folder, found.files[p], "", DocumentStatus.PENDING, NOT_REACHED, 0)
                   for p in todo if p not in status]
            self.store.upsert(DOCUMENTS.name, new)
        return len(new) + sum(1 for p in todo if status.get(p) == DocumentStatus.PENDING)

    def _prepare(self, path: Path, folder: Path, info: Any, row: dict[str, Any] | None,
                 stale: set[str], by_hash: dict[str, str], gone: dict[str, dict[str, Any]],
                 report: SyncReport) -> _Pending | None:
        """Read, hash and chunk one file; metadata-only and rename cases are written at once."""
        key = str(path)
        try:
            data = read_document(path, info, self.rules.max_bytes)
            if isinstance(data, Skipped):
                self._left_out(key, folder, info, DocumentStatus.SKIPPED, data.reason, report)
                return None
            digest = content_hash(data)
            if (row and row["hash"] == digest and row["status"] == DocumentStatus.INDEXED
                    and key not in stale):
                self.store.upsert(DOCUMENTS.name, [{**row, "size": info.st_size,
                                                    "mtime_ns": info.st_mtime_ns}])
                report.unchanged += 1
                return None
            new = row is None or row["reason"] == NOT_REACHED  # never indexed before
            origin = by_hash.get(digest) if new else None
            if origin and (origin in gone or not os.path.lexists(origin)) and self._move(
                by_hash.pop(digest), path, folder, info, digest, gone
            ):
                report.renamed += 1
                return None
            budget = ReadBudget(self.read_seconds, self.rules.max_bytes * UNPACK_FACTOR)
            parsed = parse_document(extension(path), data, budget)
            if isinstance(parsed, Skipped):
                self._left_out(key, folder, info, DocumentStatus.SKIPPED, parsed.reason, report)
                return None
            chunks = stream_chunks(parsed, self.embedder)
            first = next(chunks, None)
            if first is None:
                self._left_out(key, folder, info, DocumentStatus.SKIPPED,
                               "no text found (a scanned PDF or an empty file?)", report)
                return None
        except DocumentError as exc:
            self._left_out(key, folder, info, DocumentStatus.FAILED, str(exc), report)
            return None
        if new:
            report.added += 1
        else:
            report.updated += 1
        return _Pending(_doc_row(key, folder, info, digest, DocumentStatus.INDEXED, "", 0),
                        [first], chunks, lead=document_lead(first))

    def _left_out(self, key: str, folder: Path, info: Any, status: DocumentStatus, reason: str,
                  report: SyncReport) -> None:
        """Record a file that is not indexed (skipped or failed) with the reason, dropping any
        chunks it had."""
        report.problems[key] = reason
        setattr(report, status.value, getattr(report, status.value) + 1)
        with self.store.writing():
            self.store.delete(CHUNKS.name, f"path = {sql_str(key)}")
            self.store.upsert(DOCUMENTS.name, [_doc_row(key, folder, info, "", status, reason, 0)])

    def _move(self, old: str, new: Path, folder: Path, info: Any, digest: str,
              gone: dict[str, dict[str, Any]]) -> bool:
        """A renamed or moved file: copy its chunks and vectors to the new path, no embedding."""
        key = str(new)
        with self.store.writing():
            rows = self.store.rows(CHUNKS.name, where=f"path = {sql_str(old)}")
            if not rows:
                return False  # another writer got there first: index the file normally
            moved = [{**r, "id": f"{key}#{r['ordinal']}", "path": key, "folder": str(folder),
                      "ext": extension(new)} for r in rows]
            self.store.replace(CHUNKS.name, f"path = {sql_str(key)}", moved)
            self.store.upsert(DOCUMENTS.name, [
                _doc_row(key, folder, info, digest, DocumentStatus.INDEXED, "", len(moved))
            ])
            self.store.delete(CHUNKS.name, f"path = {sql_str(old)}")
            self.store.delete(DOCUMENTS.name, f"path = {sql_str(old)}")
        gone.pop(old, None)
        return True

    def _flush(self, pending: list[_Pending], report: SyncReport) -> list[_Pending]:
        """Embed and store the chunks produced so far; returns the documents still streaming.

        A document's row is written (status "indexed", its chunk count) only with its last
        chunks, so a run stopped half-way through a large file leaves chunks that the next
        sync sees as orphans or a stale count, and redoes.
        """
        if not pending:
            return []
        texts = [embedding_text(chunk, item.lead) for item in pending for chunk in item.chunks]
        vectors = self.embedder.encode(texts)
        rows: list[dict[str, Any]] = []
        for item in pending:
            path = item.row["path"]
            for chunk in item.chunks:
                rows.append({
                    "id": f"{path}#{chunk.ordinal}", "path": path, "folder": item.row["folder"],
                    "ext": item.row["ext"], "ordinal": chunk.ordinal, "page": chunk.page,
                    "heading": chunk.heading, "start": chunk.start, "end": chunk.end,
                    "text": chunk.text, "vector": vectors[len(rows)],
                })
        fresh = [item.row["path"] for item in pending if item.written == 0]
        for item in pending:
            item.written += len(item.chunks)
            item.chunks = []
        finished = [{**item.row, "chunks": item.written} for item in pending if item.complete]
        with self.store.writing():
            if removed_since(self.store, pending[0].row["folder"], report.started_at):
                raise FolderRemoved()
            if fresh:
                self.store.replace(CHUNKS.name, sql_in("path", fresh), rows)
            else:  # the next batch of a document already started: nothing to replace
                self.store.add(CHUNKS.name, rows)
            self.store.upsert(DOCUMENTS.name, finished)
        report.chunks += len(rows)
        return [item for item in pending if not item.complete]


def _checkpoint(cancel: threading.Event | None) -> None:
    """A safe point to stop at (raises WorkCancelled), or to wait while an answer runs."""
    checkpoint()
    if cancel is not None and cancel.is_set():
        raise WorkCancelled()


def _under(path: str, roots: list[Path] | None) -> bool:
    if roots is None:
        return True
    return any(path == str(root) or path.startswith(str(root) + "/") for root in roots)


def _doc_row(path: str, folder: Path, info: Any, digest: str, status: DocumentStatus, reason: str,
             chunks: int) -> dict[str, Any]:
    return {
        "path": path, "folder": str(folder), "ext": extension(Path(path)),
        "size": info.st_size if info else 0, "mtime_ns": info.st_mtime_ns if info else 0,
        "hash": digest, "status": status, "reason": reason, "chunks": chunks,
        "updated_at": time.time(),
    }
