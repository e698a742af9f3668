"""The apps the user registered, what each may do, and their tokens.

A token is shown once when an app is registered (or given a new one), kept in the system
keyring, and stored here only as its sha256: a copied database unlocks nothing. Every call is
checked against the app's row as it is now, so switching an app off or narrowing what it may do
takes effect at its next call, in every process.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.connections.tables import CLIENTS
from assistant.errors import BadCallError, LoremindError, UnknownTokenError
from assistant.secrets import client_token_name, delete_secret, set_secret
from assistant.store import Store, sql_str

# What an app may call besides memories: "search" covers searching documents (the MCP tool,
# the folders resource, and documents in API answers); "chat" the chat completions; and
# "embeddings" the embeddings endpoint.
TOOLS = ("search", "chat", "embeddings")
TOKEN_PREFIX = "lm-"
MAX_NAME_CHARS = 60


class ClientNotFound(LoremindError):
    """No registered app has that name or id."""


@dataclass(frozen=True)
class Permissions:
    """What one app may do. ``folders`` None: every indexed folder; an empty tuple: none."""

    tools: tuple[str, ...] = TOOLS
    folders: tuple[str, ...] | None = None
    read_memories: bool = False
    propose_memories: bool = False

    def __post_init__(self) -> None:
        unknown = [t for t in self.tools if t not in TOOLS]
        if unknown:
            raise BadCallError(f"'{unknown[0]}' is not something an app can be allowed; "
                               f"choose from {', '.join(TOOLS)}.")

    def may(self, tool: str) -> bool:
        """Whether the app may use ``tool`` (one of TOOLS)."""
        return tool in self.tools

    def with_folders(self, folders: list[str] | None) -> Permissions:
        """The same permissions over ``folders`` (resolved; None: every folder)."""
        if folders is None:
            return replace(self, folders=None)
        return replace(self, folders=tuple(str(Path(f).expanduser().resolve()) for f in folders))

    def to_json(self) -> dict[str, Any]:
        return {"tools": list(self.tools), "folders": None if self.folders is None
                else list(self.folders), "read_memories": self.read_memories,
                "propose_memories": self.propose_memories}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Permissions:
        folders = data.get("folders")
        return cls(tools=tuple(data.get("tools", TOOLS)),
                   folders=None if folders is None else tuple(folders),
                   read_memories=bool(data.get("read_memories", False)),
                   propose_memories=bool(data.get("propose_memories", False)))


@dataclass(frozen=True)
class Client:
    """One registered app: its name (shown in the audit trail and on proposed memories), what
    it may do, and whether it is switched on."""

    id: str
    name: str
    permissions: Permissions
    enabled: bool
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "enabled": self.enabled,
                "created_at": self.created_at, "permissions": self.permissions.to_json()}


def token_hash(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ClientRegistry:
    """The ``clients`` table; safe to use from any thread and process (the store's write lock)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: tuple[int, builtins.list[dict[str, Any]]] | None = None  # (version, rows)

    def list(self) -> list[Client]:
        """Every registered app, by name."""
        return sorted((_client(r) for r in self._rows()), key=lambda c: c.name.lower())

    def get(self, name_or_id: str) -> Client:
        """The app with this id, or this name (any case)."""
        wanted = name_or_id.strip().lower()
        for client in self.list():
            if client.id == name_or_id or client.name.lower() == wanted:
                return client
        raise ClientNotFound(f"No app named '{name_or_id}' is registered. List them with: "
                             "loremind connect list")

    def register(self, name: str, permissions: Permissions) -> tuple[Client, str]:
        """Register an app; returns it and its token, which is never shown again."""
        name = _check_name(name)
        client_id = uuid.uuid4().hex[:12]
        token = _new_token()
        with self.store.writing():
            if any(c.name.lower() == name.lower() for c in self.list()):
                raise BadCallError(f"An app named '{name}' is registered already: give this "
                                   "one another name, or remove the other first.")
            set_secret(client_token_name(client_id), token)
            now = time.time()
            row = {"id": client_id, "name": name, "token_hash": token_hash(token),
                   "token_key": client_token_name(client_id),
                   "permissions": json.dumps(permissions.to_json()), "enabled": True,
                   "created_at": now, "updated_at": now}
            try:
                self.store.add(CLIENTS.name, [row])
            except BaseException:
                delete_secret(client_token_name(client_id))  # nothing is kept of a failure
                raise
        return _client(row), token

    def update(self, client_id: str, *, permissions: Permissions | None = None,
               enabled: bool | None = None) -> Client:
        """Change what an app may do, or switch it on or off."""
        with self.store.writing():
            row = self._row(client_id)
            if permissions is not None:
                row["permissions"] = json.dumps(permissions.to_json())
            if enabled is not None:
                row["enabled"] = enabled
            row["updated_at"] = time.time()
            self.store.upsert(CLIENTS.name, [row])
        return _client(row)

    def renew_token(self, client_id: str) -> str:
        """Give an app a new token (the old one stops working at once); returns it."""
        token = _new_token()
        with self.store.writing():
            row = self._row(client_id)
            set_secret(row["token_key"], token)
            self.store.upsert(CLIENTS.name, [{**row, "token_hash": token_hash(token),
                                              "updated_at": time.time()}])
        return token

    def remove(self, client_id: str) -> Client:
        """Forget an app and its token (its audit trail stays until cleared)."""
        with self.store.writing():
            row = self._row(client_id)
            self.store.delete(CLIENTS.name, f"id = {sql_str(row['id'])}")
            delete_secret(row["token_key"])
        return _client(row)

    def authenticate(self, token: str) -> Client:
        """The app this token belongs to (switched on or not); raises UnknownTokenError."""
        digest = token_hash(token)
        # Compared in constant time: the answer's timing does not say how much of a guess
        # matched.
        rows = [r for r in self._rows() if hmac.compare_digest(r["token_hash"], digest)]
        if len(rows) != 1:
            raise UnknownTokenError("This token belongs to no app registered in Loremind. "
                                    "Register the app in Settings → Connections (or `loremind "
                                    "connect add NAME`) and use the token it shows.")
        return _client(rows[0])

    def refreshed(self, client: Client) -> Client:
        """The app as registered now; raises UnknownTokenError when it was removed."""
        rows = [r for r in self._rows() if r["id"] == client.id]
        if not rows:
            raise UnknownTokenError(f"'{client.name}' is no longer registered in Loremind.")
        return _client(rows[0])

    def _rows(self) -> builtins.list[dict[str, Any]]:
        """Every row, read again only when the table changed (in any process): checking its
        version costs a fraction of a millisecond, a read ten times more (more under load), on
        every call an app makes."""
        version = self.store.table(CLIENTS.name).version
        cached = self._cache
        if cached is None or cached[0] != version:
            cached = self._cache = (version, self.store.rows(CLIENTS.name))
        return cached[1]

    def _row(self, client_id: str) -> dict[str, Any]:
        rows = self.store.rows(CLIENTS.name, where=f"id = {sql_str(client_id)}")
        if not rows:
            raise ClientNotFound(f"No app with id '{client_id}' is registered. List them "
                                 "with: loremind connect list")
        return rows[0]


def _client(row: dict[str, Any]) -> Client:
    return Client(id=row["id"], name=row["name"],
                  permissions=Permissions.from_json(json.loads(row["permissions"] or "{}")),
                  enabled=bool(row["enabled"]), created_at=float(row["created_at"]))


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _check_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise BadCallError("An app needs a name (e.g. \"Claude Desktop\").")
    if len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise BadCallError(f"An app's name is at most {MAX_NAME_CHARS} printable characters.")
    return name
