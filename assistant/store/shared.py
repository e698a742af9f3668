"""A database in shared object storage (``s3://bucket/path``) that several machines read and one
machine writes.

LanceDB reaches the bucket itself (``storage_options``: endpoint, region, credentials); the
credentials come from the keyring (``loremind store credentials``) or the usual ``AWS_*``
environment variables.

Single writer. LanceDB's commits are safe against each other, but Loremind's own write path is not
made for two machines: ``merge_insert`` on the same keys from two writers duplicates rows
(lancedb#2463) and the local ``flock`` cannot reach another machine. So the store records its writer
in its ``_meta`` table (``writer``: a random id of one Loremind data folder, its host name and
since when). The first machine to open an empty URI becomes the writer; every other one opens the
store read-only — every write raises :class:`ReadOnlyStoreError` with a message saying which
machine writes — until someone moves the role with ``loremind store claim-writer``. A record in
the database itself, rather than a lock object beside it, needs no second client for the bucket
and cannot drift from the data it guards; a writer that is gone for good is replaced by claiming,
never by a timeout that could let two machines write at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.config import StoreSettings
from assistant.paths import AppPaths
from assistant.secrets import get_storage_credentials, storage_key_name
from assistant.store.store import DEFAULT_VECTOR_DIM, Migration, Store, _wrapped
from assistant.store.tables import META

WRITER_KEY = "writer"


def is_uri(location: str) -> bool:
    """True for an object-storage URI (``s3://…``, ``gs://…``, ``az://…``), not a local path."""
    return "://" in location and not location.startswith("file://")


def storage_options(settings: StoreSettings) -> dict[str, str]:
    """LanceDB's ``storage_options`` for the settings' URI: endpoint, region, credentials."""
    if not settings.uri.startswith("s3://"):
        return {}
    options: dict[str, str] = {}
    if settings.endpoint:
        options["aws_endpoint"] = settings.endpoint
    if settings.allow_http or settings.endpoint.startswith("http://"):
        options["allow_http"] = "true"
    region = (settings.region or os.environ.get("AWS_REGION")
              or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    options["aws_region"] = region
    stored = get_storage_credentials(credentials_name(settings))
    if stored is not None:
        options["aws_access_key_id"], options["aws_secret_access_key"] = stored
    return options


def credentials_name(settings: StoreSettings) -> str:
    """The keyring entry holding this store's credentials: by endpoint, else by bucket."""
    bucket = settings.uri.removeprefix("s3://").split("/", 1)[0]
    return storage_key_name(settings.endpoint or f"s3://{bucket}")


def machine_id(paths: AppPaths) -> str:
    """A random id of this Loremind data folder, made once (a second LOREMIND_HOME on the same
    computer is another machine to the store, as it should be)."""
    file = paths.data_dir / "machine-id"
    try:
        return file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        file.parent.mkdir(parents=True, exist_ok=True)
        made = uuid.uuid4().hex
        file.write_text(made + "\n", encoding="utf-8")
        return made


def open_shared(settings: StoreSettings, paths: AppPaths, migrations: Sequence[Migration],
                vector_dim: int = DEFAULT_VECTOR_DIM) -> Store:
    """Open the store at ``settings.uri``: for writing when this machine is (or becomes) its
    writer, read-only otherwise (``store.read_only_reason`` says why)."""
    options = storage_options(settings)
    lock_file = _lock_file(paths, settings.uri)
    me = machine_id(paths)
    probe = Store(settings.uri, options, lock_file)
    writer = current_writer(probe)
    if writer is not None and writer.get("id") != me:
        return _read_only(probe, writer, migrations)
    store = Store.open(settings.uri, migrations, vector_dim, options, lock_file)
    if writer is None:
        store.set_meta(WRITER_KEY, json.dumps(_claim(me)))
        writer = current_writer(store)  # another machine may have claimed it at the same time
        if writer is not None and writer.get("id") != me:
            return _read_only(store, writer, migrations)
    return store


def claim_writer(settings: StoreSettings, paths: AppPaths,
                 migrations: Sequence[Migration]) -> Store:
    """Make this machine the writer of the shared store (the old writer turns reader the next
    time it opens it) and return the store, open for writing."""
    options = storage_options(settings)
    store = Store.open(settings.uri, migrations, DEFAULT_VECTOR_DIM, options,
                       _lock_file(paths, settings.uri))
    store.set_meta(WRITER_KEY, json.dumps(_claim(machine_id(paths))))
    return store


def current_writer(store: Store) -> dict[str, Any] | None:
    """The writer recorded in the store, or None when it has none (a new store)."""
    with _wrapped("list the tables", store.db_dir):
        names = set(store._db.list_tables().tables)
    if META.name not in names:
        return None
    raw = store.get_meta(WRITER_KEY)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _read_only(store: Store, writer: dict[str, Any],
               migrations: Sequence[Migration]) -> Store:
    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(writer.get("since") or 0)))
    store.open_read_only(
        f"The shared library at {store.db_dir} is written by {writer.get('host', 'another')} "
        f"(since {since}); this machine only reads it. Index and remember on that machine, or "
        "move the role here with `loremind store claim-writer`.", migrations)
    return store


def _claim(me: str) -> dict[str, Any]:
    return {"id": me, "host": socket.gethostname(), "since": time.time()}


def _lock_file(paths: AppPaths, uri: str) -> Path:
    """This machine's lock for writes to ``uri`` (its processes take turns; other machines
    are kept out by the writer record)."""
    digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
    folder = paths.cache_dir / "store-locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}.lock"
