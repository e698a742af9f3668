"""Secrets (API keys of remote engines, object-storage credentials) live in the system keyring,
never in ``config.toml``: the settings file is plain text that people copy and share.

Each secret is one keyring entry under the service ``loremind``, named by what it unlocks:
``api-key:<server URL>``, ``s3:<endpoint or bucket>`` or ``connect-token:<app id>`` (the token
of an app registered for Connections; the database keeps only its hash).
"""

from __future__ import annotations

import json

import keyring
from keyring.errors import KeyringError, PasswordDeleteError

from assistant.errors import ConfigError

SERVICE = "loremind"


def api_key_name(server_root: str) -> str:
    """The keyring entry of the API key for the server at ``server_root`` (no ``/v1``)."""
    return f"api-key:{server_root.rstrip('/')}"


def storage_key_name(endpoint_or_bucket: str) -> str:
    """The keyring entry of the object-storage credentials for an endpoint (or AWS bucket)."""
    return f"s3:{endpoint_or_bucket.rstrip('/')}"


def client_token_name(client_id: str) -> str:
    """The keyring entry of the token of the connected app ``client_id``."""
    return f"connect-token:{client_id}"


def get_secret(name: str) -> str | None:
    """The secret stored as ``name``, or None when there is none."""
    try:
        return keyring.get_password(SERVICE, name)
    except KeyringError as exc:
        raise ConfigError(f"The system keyring could not be read ({exc}). Unlock it, or check "
                          "`loremind doctor` for the keyring in use.") from exc


def set_secret(name: str, value: str) -> None:
    """Store ``value`` as ``name`` in the keyring (replacing any earlier one)."""
    try:
        keyring.set_password(SERVICE, name, value)
    except KeyringError as exc:
        raise ConfigError(f"The system keyring refused to store '{name}' ({exc}). Unlock it, "
                          "or install a keyring service (GNOME Keyring, KWallet).") from exc


def delete_secret(name: str) -> bool:
    """Remove the secret ``name``; False when there was none."""
    try:
        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise ConfigError(f"The system keyring could not remove '{name}' ({exc}).") from exc
    return True


def get_storage_credentials(name: str) -> tuple[str, str] | None:
    """(access key id, secret access key) stored as ``name``, or None."""
    raw = get_secret(name)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return str(data["access_key_id"]), str(data["secret_access_key"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"The keyring entry '{name}' is not readable credentials; store them "
                          "again with `loremind store credentials`.") from exc


def set_storage_credentials(name: str, access_key_id: str, secret_access_key: str) -> None:
    """Store object-storage credentials as ``name``."""
    set_secret(name, json.dumps({"access_key_id": access_key_id,
                                 "secret_access_key": secret_access_key}))
