"""The one LanceDB connection: tables, migrations, the single write path, search and upkeep.

Readers may be many; every write holds :class:`WriteLock` for its whole duration, so the watcher
thread, the GUI and a CLI run in another process never lose or duplicate rows.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeAlias

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import FTS, BTree, IvfFlat
from lancedb.query import FullTextOperator, MultiMatchQuery

from assistant.errors import LoremindError, ReadOnlyStoreError, StoreError
from assistant.store.lock import WriteLock
from assistant.store.search import relative_strengths, rrf_fuse
from assistant.store.tables import META, MIGRATIONS_APPLIED, TABLES, TableSpec
from assistant.work import checkpoint

log = logging.getLogger(__name__)

DEFAULT_VECTOR_DIM = 384
VECTOR_INDEX_MIN_ROWS = 20_000  # below this a flat scan answers in about 20 ms
# Old versions are removed only after this long: a zero window breaks handles still reading them.
CLEANUP_SAFETY_WINDOW = timedelta(minutes=15)
# Versions pile up with every write: after this many, the owner is told to compact (the core
# schedules it as low-priority work, never on the path of a write the user waits on).
MAINTAIN_EVERY_WRITES = 200
# The meta key naming the table that holds each table's rows, where it is not the table's own
# name: a table re-embedded into a new one (another embedder) is switched to by this one write.
LAYOUT_KEY = "tables"
Rows: TypeAlias = Sequence[dict[str, Any]] | pa.Table
Migration = Callable[["Store"], None]  # a named schema change, applied once
# LanceDB errors end with the Rust source location that raised them: noise to a user.
_RUST_SOURCE = re.compile(r",?\s*(?:\S*/)?[\w.-]+\.rs:\d+(?::\d+)?")


@contextlib.contextmanager
def _wrapped(action: str, where: Path | str) -> Iterator[None]:
    try:
        yield
    except LoremindError:
        raise
    except (OSError, RuntimeError, ValueError, pa.ArrowException) as exc:
        raise StoreError(store_error_message(action, where, exc)) from exc


def store_error_message(action: str, where: Path | str, exc: BaseException) -> str:
    """A one-line message for a failed database operation, with advice that fits the cause."""
    detail = _RUST_SOURCE.sub("", str(exc)).strip().rstrip(".")
    detail = " ".join(detail.split())  # LanceDB errors span lines
    if getattr(exc, "errno", None) == errno.ENOSPC or "No space left" in detail:
        return (f"Could not {action}: the disk holding {where} is full. "
                "Free some space and try again.")
    if getattr(exc, "errno", None) in (errno.EACCES, errno.EPERM, errno.EROFS) or (
            "Permission denied" in detail or "Read-only file system" in detail):
        return (f"Could not {action}: the database folder {where} cannot be written "
                f"({detail}). Check its permissions, or set LOREMIND_HOME to a writable folder.")
    return (f"Could not {action} in the database at {where}: {detail}. "
            "If this persists, close other Loremind windows and check the disk.")


def sql_str(value: str) -> str:
    """A SQL string literal for a LanceDB filter, quotes escaped."""
    return "'" + value.replace("'", "''") + "'"


def sql_in(column: str, values: Sequence[str]) -> str:
    """``column IN (...)`` for string values (``FALSE`` when there are none)."""
    if not values:
        return "FALSE"
    return f"{column} IN ({', '.join(sql_str(v) for v in values)})"


class Store:
    """One LanceDB database: open it once per process and share it between threads."""

    def __init__(self, db_dir: Path | str, storage_options: dict[str, str] | None = None,
                 lock_file: Path | None = None) -> None:
        """``db_dir`` is a local folder, or an object-storage URI (``s3://…``) reached with
        ``storage_options``; a URI's write lock is ``lock_file``, on this machine."""
        self.db_dir = db_dir
        #: Why this machine may not write (a shared store another machine writes), or "".
        self.read_only_reason = ""
        with _wrapped("open the database", db_dir):
            if isinstance(db_dir, Path):
                db_dir.mkdir(parents=True, exist_ok=True)
            # A zero interval makes every read see writes made by other connections and processes.
            self._db = lancedb.connect(db_dir, read_consistency_interval=timedelta(0),
                                       storage_options=storage_options)
        if lock_file is None:
            assert isinstance(db_dir, Path), "a store at a URI needs a local lock file"
            lock_file = db_dir / ".write.lock"
        self._lock = WriteLock(lock_file)
        self._tables: dict[str, Any] = {}
        self._indexed: dict[str, set[str]] = {}
        self._dims: dict[str, int] = {}  # each vector table's own dimension, read from its schema
        #: The LanceDB table behind each table name that is not its own (see LAYOUT_KEY).
        self.layout: dict[str, str] = {}
        self._writes = 0
        self._executor: ThreadPoolExecutor | None = None
        self.vector_dim = DEFAULT_VECTOR_DIM
        #: Called (on the writing thread) once enough writes piled up versions to compact.
        self.on_maintenance_due: Callable[[], None] | None = None

    @classmethod
    def open(cls, db_dir: Path | str, migrations: Sequence[Migration] = (),
             vector_dim: int = DEFAULT_VECTOR_DIM, storage_options: dict[str, str] | None = None,
             lock_file: Path | None = None) -> Store:
        """Open (or create) the database and apply the ``migrations`` not applied yet.

        The list comes from above the store (:mod:`assistant.migrations` for the app), which
        knows the tables of chats and memories; the store itself knows none of them.
        """
        store = cls(db_dir, storage_options, lock_file)
        if isinstance(db_dir, Path) and not os.access(db_dir, os.W_OK):
            store.open_read_only(
                f"The data folder {db_dir} is read-only (a mounted backup or a locked-down "
                "machine?): Loremind reads it but changes nothing. Give this user write access "
                "to it, or set LOREMIND_HOME to a writable folder, to index or remember.",
                migrations)
            return store
        with store.writing():
            store.create_table(META)
            store.create_table(MIGRATIONS_APPLIED)
            store.load_layout()
            recorded = store.get_meta("vector_dim")
            store.vector_dim = int(recorded) if recorded else vector_dim
            if not recorded:
                store.set_meta("vector_dim", str(store.vector_dim))
            store._migrate(migrations)
        return store

    def open_read_only(self, reason: str, migrations: Sequence[Migration] = ()) -> None:
        """Use this database for reading only (every write raises ReadOnlyStoreError with
        ``reason``); refuses one that lacks a migration, which only a writer can apply."""
        self.read_only_reason = reason
        self.load_layout()
        recorded = self.get_meta("vector_dim")
        if recorded:
            self.vector_dim = int(recorded)
        applied = {r["name"] for r in self.rows(MIGRATIONS_APPLIED.name, columns=["name"])}
        missing = [m.__name__ for m in migrations if m.__name__ not in applied]
        if missing:
            raise StoreError(f"The database at {self.db_dir} is older than this Loremind (it "
                             f"lacks {', '.join(missing)}) and cannot be upgraded from here: "
                             "open it once, with this version, where it can be written.")

    def writing(self) -> WriteLock:
        """The write lock; hold it across every read-modify-write that must not interleave.
        Raises :class:`ReadOnlyStoreError` on a shared store that another machine writes."""
        if self.read_only_reason:
            raise ReadOnlyStoreError(self.read_only_reason)
        return self._lock

    # -- schema --------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """How many migrations this database has applied."""
        return len(self.rows(MIGRATIONS_APPLIED.name, columns=["name"]))

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        applied = {row["name"] for row in self.rows(MIGRATIONS_APPLIED.name, columns=["name"])}
        for migration in migrations:
            if migration.__name__ in applied:
                continue
            log.info("Applying store migration %s", migration.__name__)
            migration(self)
            self.upsert(MIGRATIONS_APPLIED.name, [
                {"name": migration.__name__, "applied_at": time.time()}
            ])

    def create_table(self, spec: TableSpec, vector_dim: int | None = None) -> None:
        """Create ``spec``'s table if it does not exist (idempotent, so migrations can rerun),
        its vectors of ``vector_dim`` values (the store's by default)."""
        with self.writing(), _wrapped(f"create the table '{spec.name}'", self.db_dir):
            schema = spec.schema(vector_dim or self.vector_dim)
            self._tables[spec.name] = self._db.create_table(
                self.layout.get(spec.name, spec.name), schema=schema, exist_ok=True
            )
            self._dims.pop(spec.name, None)

    def recreate_table(self, spec: TableSpec, vector_dim: int) -> None:
        """Drop ``spec``'s table and create it empty with a new vector dimension (re-index)."""
        with self.writing(), _wrapped(f"recreate the table '{spec.name}'", self.db_dir):
            self._db.drop_table(self.layout.get(spec.name, spec.name),  # type: ignore[call-arg]
                                ignore_missing=True)
            self.forget_table(spec.name)
            self.vector_dim = vector_dim
            self.set_meta("vector_dim", str(vector_dim))
            self.create_table(spec)

    def table(self, name: str) -> Any:
        """The LanceDB table ``name`` (opened once, then reused)."""
        if name not in self._tables:
            with _wrapped(f"open the table '{name}'", self.db_dir):
                self._tables[name] = self._db.open_table(self.layout.get(name, name))
        return self._tables[name]

    def load_layout(self) -> None:
        """Read which LanceDB table holds each table's rows (after another embedder's tables
        were switched to, or another process switched them)."""
        raw = self.get_meta(LAYOUT_KEY)
        layout = json.loads(raw) if raw else {}
        for name in set(layout) | set(self.layout):
            if layout.get(name) != self.layout.get(name):
                self.forget_table(name)
        self.layout = layout

    def forget_table(self, name: str) -> None:
        """Drop what this connection keeps about table ``name`` (it was replaced)."""
        self._tables.pop(name, None)
        self._indexed.pop(name, None)
        self._dims.pop(name, None)

    def table_dim(self, name: str) -> int:
        """The length of the vectors table ``name`` holds, as its schema says (tables of one
        database differ while another embedder's vectors are made beside the live ones)."""
        if name not in self._dims:
            spec = TABLES[name]
            field = self.table(name).schema.field(spec.vector) if spec.vector else None
            self._dims[name] = field.type.list_size if field is not None else self.vector_dim
        return self._dims[name]

    def _arrow(self, name: str, rows: Rows) -> pa.Table:
        spec = TABLES[name]
        schema = spec.schema(self.table_dim(name) if spec.vector else self.vector_dim)
        if isinstance(rows, pa.Table):
            return rows.select(schema.names).cast(schema)
        return pa.Table.from_pylist(list(rows), schema=schema)

    # -- meta ----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A value recorded in the ``_meta`` table, or None."""
        found = self.rows(META.name, where=f"key = {sql_str(key)}")
        return found[0]["value"] if found else None

    def set_meta(self, key: str, value: str) -> None:
        """Record ``key = value`` in the ``_meta`` table."""
        self.upsert(META.name, [{"key": key, "value": value}])

    # -- writes --------------------------------------------------------------------------------

    def add(self, name: str, rows: Rows) -> None:
        """Append rows to table ``name``."""
        data = self._arrow(name, rows)
        if data.num_rows == 0:
            return
        with self.writing():
            with _wrapped(f"add rows to '{name}'", self.db_dir):
                self.table(name).add(data)
            self._wrote(name)

    def upsert(self, name: str, rows: Rows) -> None:
        """Insert rows, replacing those with the same key (the table's ``key`` column)."""
        data = self._arrow(name, rows)
        if data.num_rows == 0:
            return
        key = TABLES[name].key
        with self.writing():
            with _wrapped(f"update rows in '{name}'", self.db_dir):
                (
                    self.table(name)
                    .merge_insert(key)
                    .when_matched_update_all()
                    .when_not_matched_insert_all()
                    .execute(data)
                )
            self._wrote(name)

    def update(self, name: str, where: str, values: dict[str, Any]) -> None:
        """Set columns of the rows of ``name`` matching the SQL filter ``where``."""
        with self.writing():
            with _wrapped(f"update rows in '{name}'", self.db_dir):
                self.table(name).update(where=where, values=values)
            self._wrote(name)

    def add_column(self, name: str, column: str, default_sql: str) -> None:
        """Give table ``name`` a new column filled with ``default_sql`` (a migration step; a
        column that exists already is left alone, so the step can rerun)."""
        with self.writing(), _wrapped(f"add the column '{column}' to '{name}'", self.db_dir):
            table = self.table(name)
            if column not in table.schema.names:
                table.add_columns({column: default_sql})

    def delete(self, name: str, where: str) -> None:
        """Delete the rows of ``name`` matching the SQL filter ``where``."""
        with self.writing():
            with _wrapped(f"delete rows from '{name}'", self.db_dir):
                self.table(name).delete(where)
            self._wrote(name)

    def replace(self, name: str, where: str, rows: Rows) -> None:
        """Delete the rows matching ``where`` and add ``rows``, with no writer in between."""
        with self.writing():
            self.delete(name, where)
            self.add(name, rows)

    # -- reads ---------------------------------------------------------------------------------

    def rows(
        self,
        name: str,
        where: str | None = None,
        columns: list[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of ``name`` matching ``where`` (all when None), as dicts."""
        return self.arrow(name, where, columns, limit).to_pylist()

    def arrow(
        self,
        name: str,
        where: str | None = None,
        columns: list[str] | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """Like :meth:`rows`, as an Arrow table (cheap for large column scans)."""
        with _wrapped(f"read '{name}'", self.db_dir):
            query = self.table(name).search()
            if where:
                query = query.where(where)
            if columns:
                query = query.select(columns)
            return query.limit(limit).to_arrow()

    def count(self, name: str, where: str | None = None) -> int:
        """How many rows of ``name`` match ``where``."""
        with _wrapped(f"count rows of '{name}'", self.db_dir):
            return int(self.table(name).count_rows(where))

    def search_vector(
        self,
        name: str,
        vector: np.ndarray,
        k: int,
        where: str | None = None,
        columns: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The ``k`` rows nearest to ``vector`` by cosine distance (``_distance`` per row)."""
        spec = TABLES[name]
        with _wrapped(f"search '{name}' by meaning", self.db_dir):
            query = (
                self.table(name)
                .search(vector, vector_column_name=spec.vector)
                .distance_type("cosine")
                .nprobes(32)
                .limit(k)
            )
            if where:
                query = query.where(where, prefilter=True)
            if columns:
                query = query.select([*columns, "_distance"])
            return query.to_list()

    def search_text(
        self,
        name: str,
        text: str,
        k: int,
        where: str | None = None,
        columns: list[str] | None = None,
        boosts: Mapping[str, float] | None = None,
    ) -> list[dict[str, Any]]:
        """The ``k`` best full-text matches (``_score`` per row); none before the first index.

        ``boosts`` searches several indexed columns at once, each match weighted by its column's
        boost; by default only the first full-text column is searched.
        """
        spec = TABLES[name]
        # A column whose index is not built yet (an older database) is left out until it is.
        fields = {column: boost for column, boost in (boosts or {spec.fts[0]: 1.0}).items()
                  if self._has_index(name, column)}
        if not text.strip() or not fields:
            return []
        with _wrapped(f"search '{name}' by words", self.db_dir):
            if len(fields) == 1:
                query = self.table(name).search(text, query_type="fts", fts_columns=[*fields][0])
            else:
                query = self.table(name).search(
                    MultiMatchQuery(text, list(fields), boosts=list(fields.values()),
                                    operator=FullTextOperator.OR),
                    query_type="fts")
            if where:
                query = query.where(where, prefilter=True)
            if columns:
                query = query.select([*columns, "_score"])
            return query.limit(k).to_list()

    def search_hybrid(
        self,
        name: str,
        vector: np.ndarray | Callable[[], np.ndarray],
        text: str,
        k: int,
        where: str | None = None,
        columns: list[str] | None = None,
        boosts: Mapping[str, float] | None = None,
        depth: int | None = None,
    ) -> list[dict[str, Any]]:
        """Vector and full-text results fused by reciprocal rank; each row gets ``_score``.

        The full-text search runs on a helper thread meanwhile, so ``vector`` may be a function
        that computes the query vector (embedding the query then overlaps the text search).
        ``boosts`` go to :meth:`search_text`. When ``columns`` include the vector column,
        words-only matches get their ``_distance`` too, so every row says how close its meaning is.
        ``depth`` goes to :func:`rrf_fuse`: how many ranks of each search vote on the order.
        """
        pool = max(3 * k, 20)
        spec = TABLES[name]
        key = spec.key
        cols = None if columns is None else sorted({*columns, key})
        text_search = self._helper().submit(self.search_text, name, text, pool, where, cols,
                                            boosts)
        query = vector() if callable(vector) else vector
        by_vector = self.search_vector(name, query, pool, where, cols)
        by_text = text_search.result()
        for row in by_text:
            if spec.vector and spec.vector in row and "_distance" not in row:
                row["_distance"] = 1.0 - float(np.dot(query, np.asarray(row[spec.vector])))
        strengths = [
            relative_strengths([r["_distance"] for r in by_vector], higher_is_better=False),
            relative_strengths([r["_score"] for r in by_text]),
        ]
        return rrf_fuse([by_vector, by_text], key=key, k=k, strengths=strengths, depth=depth)

    def _helper(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="loremind-store-search")
        return self._executor

    def close(self) -> None:
        """Stop the helper thread of hybrid searches (the store can still be read after)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def _has_index(self, name: str, column: str) -> bool:
        if column not in self._indexed.get(name, set()):
            self._refresh_indexes(name)
        return column in self._indexed[name]

    def _refresh_indexes(self, name: str) -> None:
        with _wrapped(f"list the indexes of '{name}'", self.db_dir):
            indices = self.table(name).list_indices()
        self._indexed[name] = {col for index in indices for col in index.columns}

    # -- upkeep --------------------------------------------------------------------------------

    def _wrote(self, name: str) -> None:
        """After a write: give a new table its full-text index, and compact now and then."""
        spec = TABLES.get(name)
        if spec and spec.fts and not set(spec.fts) <= self._indexed.get(name, set()):
            with _wrapped(f"index the table '{name}'", self.db_dir):
                self._refresh_indexes(name)
                for column in set(spec.fts) - self._indexed[name]:
                    self.table(name).create_index(column, config=FTS(with_position=False))
                self._refresh_indexes(name)
        self._writes += 1
        if self._writes >= MAINTAIN_EVERY_WRITES and self.on_maintenance_due is not None:
            self.on_maintenance_due()

    def maintain(self) -> None:
        """Build missing indexes, fold new rows into them, compact and drop old versions.

        One table at a time, each under the write lock: a write the user waits on (a memory,
        a rename) waits for one table's compaction at most, and a checkpoint between tables
        lets an answer or a cancel go first when this runs as background work.
        """
        with self.writing():
            self._writes = 0
            names = self.live_tables()
        for name in names:
            checkpoint()
            self.maintain_table(name)

    def maintain_table(self, name: str) -> None:
        """Build table ``name``'s missing indexes, fold new rows into them and compact it."""
        spec = TABLES.get(name)
        with self.writing(), _wrapped(f"maintain the table '{name}'", self.db_dir):
            if spec is not None:
                self._ensure_indexes(spec)
            self.table(name).optimize(cleanup_older_than=CLEANUP_SAFETY_WINDOW)

    def live_tables(self) -> list[str]:
        """The names of the tables in use, shadows being filled included (a table that a
        shadow replaced is not, see :mod:`assistant.store.generations`)."""
        with _wrapped("list the tables", self.db_dir):
            stored = sorted(self._db.list_tables().tables)
        names = {table: name for name, table in self.layout.items()}
        return [names.get(table, table) for table in stored
                if self.layout.get(names.get(table, table), table) == table]

    def compact(self, names: Sequence[str]) -> None:
        """Merge small fragments and fold new rows into the indexes of ``names`` (after a bulk
        write), keeping old versions for the safety window."""
        with self.writing():
            for name in names:
                with _wrapped(f"compact the table '{name}'", self.db_dir):
                    self.table(name).optimize(cleanup_older_than=CLEANUP_SAFETY_WINDOW)

    def purge(self, name: str) -> None:
        """Rewrite table ``name`` and drop every older version now, so that rows deleted from it
        can no longer be read back from any file on disk (a permanent erase).

        Compaction alone keeps a fragment holding a few deleted rows, and LanceDB keeps old
        versions, so the live rows are written anew and everything older is removed at once.
        Other connections keep working: with a zero consistency interval they read the newest
        version, and the write lock keeps writers out meanwhile. This process reopens its handle.
        """
        with self.writing(), _wrapped(f"erase old data from '{name}'", self.db_dir):
            table = self.table(name)
            live = table.search().limit(None).to_arrow()
            table.add(live, mode="overwrite")
            with warnings.catch_warnings():
                # It warns that readers of older versions fail; ours (zero consistency
                # interval) move to the newest version at their next read.
                warnings.simplefilter("ignore", UserWarning)
                table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
            self.forget_table(name)
            spec = TABLES.get(name)
            if spec is not None:
                self._ensure_indexes(spec)

    def _ensure_indexes(self, spec: TableSpec) -> None:
        rows = self.count(spec.name)
        if rows == 0:
            return
        table = self.table(spec.name)
        self._refresh_indexes(spec.name)
        have = self._indexed[spec.name]
        for column in spec.fts:
            if column not in have:
                table.create_index(column, config=FTS(with_position=False))
        for column in spec.scalar:
            if column not in have:
                table.create_index(column, config=BTree())
        if spec.vector and rows >= VECTOR_INDEX_MIN_ROWS:
            built_for = int(self.get_meta(f"vector_index_rows:{spec.name}") or 0)
            if spec.vector not in have or rows >= 2 * built_for:
                self._build_vector_index(spec, rows)
        self._refresh_indexes(spec.name)

    def _build_vector_index(self, spec: TableSpec, rows: int) -> None:
        # IVF_FLAT keeps exact distances inside the probed partitions (good recall on real
        # embeddings) and builds in seconds; PQ or HNSW would take minutes on two cores. A
        # partition *size* rather than a count: compaction rebuilds the index from it, and
        # with a count it fell back to a handful of huge partitions (a flat scan in disguise).
        log.info("Building a vector index on %s (%d rows)", spec.name, rows)
        partition_rows = max(256, int(math.sqrt(rows)))
        self.table(spec.name).create_index(
            spec.vector,
            config=IvfFlat(distance_type="cosine", target_partition_size=partition_rows,
                           max_iterations=10),
        )
        self.set_meta(f"vector_index_rows:{spec.name}", str(rows))
