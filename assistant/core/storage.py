"""The storage area: where the database lives, a shared one's credentials, the writer role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.errors import ConfigError

if TYPE_CHECKING:
    from assistant.core.app import Loremind


class StorageArea:
    """The database as a whole: local, or shared in object storage (one machine writes)."""

    def __init__(self, core: Loremind) -> None:
        self._core = core

    def status(self) -> dict[str, Any]:
        """Where the database is, whether it is shared, whether this machine may write it."""
        from assistant.store.shared import current_writer, is_uri

        store = self._core.parts.store
        shared = is_uri(self._core.current_settings.store.uri)
        return {
            "location": str(store.db_dir),
            "shared": shared,
            "writable": not store.read_only_reason,
            "writer": current_writer(store) if shared else None,
            "note": store.read_only_reason,
        }

    def set_credentials(self, access_key_id: str, secret_access_key: str) -> str:
        """Keep the shared store's credentials in the keyring; returns the entry's name."""
        from assistant.secrets import set_storage_credentials
        from assistant.store.shared import credentials_name

        settings = self._core.current_settings.store
        if not settings.uri.startswith("s3://"):
            raise ConfigError("Set [store] uri = \"s3://bucket/path\" in the settings first.")
        name = credentials_name(settings)
        set_storage_credentials(name, access_key_id, secret_access_key)
        return name

    def claim_writer(self) -> str:
        """Make this machine the one that writes the shared store (the old writer turns
        reader); returns the store's location."""
        from assistant.migrations import MIGRATIONS
        from assistant.store.shared import claim_writer, is_uri

        settings = self._core.current_settings.store
        if not is_uri(settings.uri):
            raise ConfigError("The database is not shared: [store] uri names no object storage.")
        claim_writer(settings, self._core.paths, MIGRATIONS)
        return settings.uri

    def set_server_key(self, url: str, api_key: str) -> str:
        """Keep the API key of the OpenAI-compatible server at ``url`` in the keyring;
        returns the server's root address."""
        from assistant.engine.remote_http import server_root
        from assistant.secrets import api_key_name, set_secret

        root = server_root(url)
        set_secret(api_key_name(root), api_key)
        return root

    def forget_server_key(self, url: str) -> bool:
        """Remove the API key of the server at ``url`` from the keyring; whether one was."""
        from assistant.engine.remote_http import server_root
        from assistant.secrets import api_key_name, delete_secret

        return delete_secret(api_key_name(server_root(url)))
