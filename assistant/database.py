"""The app's database where the settings put it: the data folder, or a shared object-storage URI.

The application core calls :func:`open_app_database` where it called
:func:`assistant.migrations.open_database`; a shared store may come back read-only
(``store.read_only_reason``), which the front ends show.
"""

from __future__ import annotations

from pathlib import Path

from assistant.config import StoreSettings
from assistant.migrations import MIGRATIONS, open_database
from assistant.paths import AppPaths
from assistant.store import Store
from assistant.store.shared import is_uri, open_shared


def open_app_database(paths: AppPaths, settings: StoreSettings) -> Store:
    """The database of this installation, with every migration applied where it may write."""
    if settings.uri and is_uri(settings.uri):
        return open_shared(settings, paths, MIGRATIONS)
    if settings.uri:  # a folder elsewhere (a mounted share): the local lock still applies
        return open_database(Path(settings.uri).expanduser())
    return open_database(paths)
