"""Re-embed the index with another embedder beside the live one, resumably, then catch up.

Every vector table gets a shadow (:mod:`assistant.store.generations`) that the new embedder
fills while searches go on reading the live tables with the old one. Passages are copied a
document at a time: the shadow records, for each document, the version of its row (hash,
update time, chunk count) its passages were embedded from, so a document indexed, changed or
removed meanwhile is noticed and redone, and a rebuild stopped half-way (a cancel, a crash)
resumes where it was, embedding nothing twice. Memories and messages are compared by their
text. :meth:`Rebuild.finish`, under the write lock, brings the shadows level with the live
tables one last time; the caller then switches to them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from assistant.knowledge.chunking import Chunk, document_lead, embedding_text
from assistant.knowledge.embedding import TextEmbedder
from assistant.statuses import DocumentStatus
from assistant.store import CHUNKS, DOCUMENTS, Store, TableSpec, sql_in
from assistant.store.generations import shadow_spec
from assistant.wording import plural
from assistant.work import checkpoint

PLAN_KEY = "rebuild"  # meta: the rebuild under way (JSON of a Plan), "" when none
BATCH_CHUNKS = 64  # passages per commit to the shadow, as the indexer commits (a stop loses less)
BATCH_ROWS = 128  # memories or messages per commit

EMBEDDED_FROM = TableSpec(
    name="_embedded_from",
    schema=lambda dim: pa.schema([("path", pa.string()), ("version", pa.string())]),
    key="path",
)


@dataclass(frozen=True)
class Plan:
    """A rebuild: the embedder it is for (its setting, name and vector length) and the tag of
    its shadow tables."""

    source: str
    name: str
    dim: int
    tag: str

    @staticmethod
    def recorded(store: Store) -> Plan | None:
        """The rebuild the store records as under way, if any."""
        raw = store.get_meta(PLAN_KEY)
        try:
            return Plan(**json.loads(raw)) if raw else None
        except (ValueError, TypeError):
            return None

    def record(self, store: Store) -> None:
        store.set_meta(PLAN_KEY, json.dumps(asdict(self)))


@dataclass(frozen=True)
class TextTable:
    """A table whose rows are embedded from one text column, as queries are (memories and
    messages: a question's vector is stored with it, and each is searched by questions)."""

    spec: TableSpec
    text: str = "text"


@dataclass
class RebuildProgress:
    """How far a rebuild has come, for progress bars."""

    embedder: str
    chunks_done: int
    chunks_total: int
    texts_per_s: float  # texts embedded per second by this run
    stage: str = "passages"  # "passages", "memories and chats", "switching"


def rebuild_text(progress: RebuildProgress) -> str:
    """One line for a status bar: "Rebuilding the index for bge-small-en-v1.5: 1,200/3,900
    passages"."""
    head = f"Rebuilding the index for {progress.embedder}"
    if progress.stage == "switching":
        return f"{head}: switching to it…"
    if progress.stage != "passages":
        return f"{head}: {progress.stage}…"
    return f"{head}: {progress.chunks_done:,}/{progress.chunks_total:,} passages"


class Rebuild:
    """Fills one plan's shadow tables from the live ones with ``embedder``."""

    def __init__(self, store: Store, embedder: TextEmbedder, plan: Plan,
                 texts: Sequence[TextTable]) -> None:
        self.store = store
        self.embedder = embedder
        self.plan = plan
        self.texts = tuple(texts)
        self.chunks = shadow_spec(CHUNKS, plan.tag)
        self.embedded_from = shadow_spec(EMBEDDED_FROM, plan.tag)
        self.shadows = {t.spec.name: shadow_spec(t.spec, plan.tag) for t in self.texts}
        self.progress = RebuildProgress(plan.name, 0, 0, 0.0)
        # What the last comparison found to do and this run has not done yet.
        self._documents: dict[str, int] = {}
        self._texts_left: dict[str, list[str]] = {}
        self._embedded = 0
        self._started = time.perf_counter()

    @property
    def tables(self) -> dict[str, str]:
        """Each live table and the shadow that replaces it."""
        return {CHUNKS.name: self.chunks.name,
                **{name: shadow.name for name, shadow in self.shadows.items()}}

    def prepare(self) -> None:
        """Create the shadow tables that do not exist yet (a resumed rebuild keeps its own)."""
        with self.store.writing():
            self.store.create_table(self.chunks, self.plan.dim)
            self.store.create_table(self.embedded_from)
            for shadow in self.shadows.values():
                self.store.create_table(shadow, self.plan.dim)

    # -- passages ------------------------------------------------------------------------------

    def documents_to_do(self) -> dict[str, int]:
        """The indexed documents whose passages the shadow lacks or holds from an older version,
        with their passage counts (``progress`` counts the rest as done); the shadow's passages
        of documents no longer indexed are dropped."""
        versions = self._live_versions()
        done = {row["path"]: row["version"] for row in self.store.rows(self.embedded_from.name)}
        gone = sorted(set(done) - set(versions))
        if gone:
            with self.store.writing():
                self.store.delete(self.chunks.name, sql_in("path", gone))
                self.store.delete(self.embedded_from.name, sql_in("path", gone))
        todo = {path: count for path, (version, count) in sorted(versions.items())
                if done.get(path) != version}
        self.progress.chunks_total = sum(count for _version, count in versions.values())
        self.progress.chunks_done = self.progress.chunks_total - sum(todo.values())
        self.progress.stage = "passages"
        return todo

    def copy_documents(self, paths: Sequence[str]) -> None:
        """Embed the passages of ``paths`` into the shadow, as the live table holds them now,
        recording the version of each document they were embedded from."""
        with self.store.writing():  # a document's row and its passages, as one writer left them
            versions = self._live_versions(paths)
            if not versions:
                return  # no longer indexed: the next comparison drops them from the shadow
            live = self.store.rows(CHUNKS.name, where=sql_in("path", list(versions)),
                                   columns=[f for f in CHUNKS.schema(1).names if f != "vector"])
        by_path: dict[str, list[dict[str, Any]]] = {}
        for row in sorted(live, key=lambda r: (r["path"], r["ordinal"])):
            by_path.setdefault(row["path"], []).append(row)
        texts = []
        for rows in by_path.values():
            lead = document_lead(_chunk(rows[0]))
            texts += [embedding_text(_chunk(row), lead) for row in rows]
        vectors = self._embed(texts, queries=False)
        rows = [{**row, "vector": vector} for row, vector in
                zip((r for group in by_path.values() for r in group), vectors, strict=True)]
        with self.store.writing():
            self.store.replace(self.chunks.name, sql_in("path", list(versions)), rows)
            self.store.upsert(self.embedded_from.name, [
                {"path": path, "version": version} for path, (version, _n) in versions.items()])
        self.progress.chunks_done += sum(count for _version, count in versions.values())

    def _live_versions(self, paths: Sequence[str] | None = None) -> dict[str, tuple[str, int]]:
        """Each indexed document's version and passage count, from its row (an indexing run
        writes a new row whenever a document's passages change)."""
        where = f"status = '{DocumentStatus.INDEXED}'"
        if paths is not None:
            where += f" AND {sql_in('path', list(paths))}"
        rows = self.store.rows(DOCUMENTS.name, where=where,
                               columns=["path", "hash", "updated_at", "chunks"])
        return {r["path"]: (f"{r['hash']}:{r['updated_at']!r}:{r['chunks']}", r["chunks"] or 0)
                for r in rows}

    # -- memories and messages -----------------------------------------------------------------

    def texts_to_do(self, table: TextTable) -> list[str]:
        """Keys of ``table``'s rows that the shadow lacks or holds with another text; rows no
        longer live leave the shadow, and no copy of them is kept on disk."""
        spec, shadow = table.spec, self.shadows[table.spec.name]
        live = self._texts(spec.name, spec.key, table.text)
        held = self._texts(shadow.name, spec.key, table.text)
        gone = sorted(set(held) - set(live))
        if gone:
            with self.store.writing():
                self.store.delete(shadow.name, sql_in(spec.key, gone))
                self.store.purge(shadow.name)  # erased chats and memories stay erased
        return sorted(key for key, text in live.items() if held.get(key) != text)

    def copy_texts(self, table: TextTable, keys: Sequence[str]) -> None:
        """Embed the rows ``keys`` of ``table`` into its shadow, with their columns as now."""
        spec, shadow = table.spec, self.shadows[table.spec.name]
        rows = self.store.rows(spec.name, where=sql_in(spec.key, list(keys)),
                               columns=self._columns(spec.name, spec.vector))
        vectors = self._embed([row[table.text] or " " for row in rows], queries=True)
        self.store.upsert(shadow.name, [{**row, spec.vector or "vector": vector}
                                        for row, vector in zip(rows, vectors, strict=True)])

    def _texts(self, name: str, key: str, text: str) -> dict[str, str]:
        table = self.store.arrow(name, columns=[key, text])
        return dict(zip(table.column(key).to_pylist(), table.column(text).to_pylist(),
                        strict=True))

    def _columns(self, name: str, vector: str | None) -> list[str]:
        return [f for f in self.store.table(name).schema.names if f != vector]

    # -- the whole -----------------------------------------------------------------------------

    def step(self) -> bool:
        """Embed the next batch into the shadows; False once a fresh comparison finds them
        holding all that the live tables hold (a checkpoint first)."""
        checkpoint()
        if not self._documents and not any(self._texts_left.values()):
            self._documents = self.documents_to_do()
            self._texts_left = {t.spec.name: self.texts_to_do(t) for t in self.texts}
        if self._documents:
            batch, size = [], 0
            while self._documents and size < BATCH_CHUNKS:
                path = next(iter(self._documents))
                batch.append(path)
                size += self._documents.pop(path) or 1
            self.copy_documents(batch)
            return True
        for table in self.texts:
            keys = self._texts_left[table.spec.name]
            if keys:
                self.progress.stage = "memories and chats"
                self.copy_texts(table, keys[:BATCH_ROWS])
                del keys[:BATCH_ROWS]
                return True
        return False

    def index_shadows(self) -> None:
        """Compact the shadows and build their indexes (full-text, keys, vectors), so that the
        switch finds them ready; a checkpoint between tables."""
        for spec in (self.chunks, *self.shadows.values()):
            checkpoint()
            with self.store.writing():
                self.store.maintain_table(spec.name)

    def finish(self) -> None:
        """Bring the shadows level with the live tables, every column of every memory and
        message included (their state changes without their text); hold the write lock."""
        with self.store.writing():
            while (todo := list(self.documents_to_do())):
                self.copy_documents(todo[:BATCH_CHUNKS])
            for table in self.texts:
                for keys in _batches(self.texts_to_do(table), BATCH_ROWS):
                    self.copy_texts(table, keys)
                self._copy_columns(table)
            self.progress.stage = "switching"

    def _copy_columns(self, table: TextTable) -> None:
        """Rows whose other columns changed (a memory pinned, an answer's versions) take them
        from the live table, with the vector the shadow holds."""
        spec, shadow = table.spec, self.shadows[table.spec.name]
        columns = self._columns(spec.name, spec.vector)
        live = {row[spec.key]: row for row in self.store.rows(spec.name, columns=columns)}
        held = self.store.rows(shadow.name)
        changed = [{**live[row[spec.key]], "vector": row["vector"]} for row in held
                   if {c: row[c] for c in columns} != live[row[spec.key]]]
        self.store.upsert(shadow.name, changed)

    def _embed(self, texts: list[str], *, queries: bool) -> np.ndarray:
        vectors = encode_queries(self.embedder, texts) if queries else self.embedder.encode(texts)
        self._embedded += len(texts)
        self.progress.texts_per_s = self._embedded / max(time.perf_counter() - self._started,
                                                         1e-9)
        return vectors

    def summary(self) -> str:
        """What this run embedded, in words."""
        seconds = time.perf_counter() - self._started
        return (f"{plural(self._embedded, 'text')} embedded with {self.plan.name} in "
                f"{seconds:.1f} s ({self.progress.texts_per_s:.0f}/s)")


def encode_queries(embedder: TextEmbedder, texts: Sequence[str]) -> np.ndarray:
    """Vectors of ``texts`` as :meth:`~TextEmbedder.encode_query` makes them, many per call
    where that gives the same vectors: without prefixes, or with only a question prefix
    (put before each text); one by one otherwise (a checkpoint before each)."""
    query_prefix = getattr(embedder, "query_prefix", "")
    if not getattr(embedder, "document_prefix", ""):
        return embedder.encode([query_prefix + text for text in texts])
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for index, text in enumerate(texts):
        checkpoint()
        vectors[index] = embedder.encode_query(text)
    return vectors


def _chunk(row: dict[str, Any]) -> Chunk:
    return Chunk(row["ordinal"], row["text"], row["heading"], row["page"], row["start"],
                 row["end"])


def _batches(items: list[str], size: int) -> list[list[str]]:
    return [items[begin:begin + size] for begin in range(0, len(items), size)]
