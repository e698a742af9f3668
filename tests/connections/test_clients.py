"""Registered apps: tokens shown once, kept in the keyring and stored only as a hash."""

from __future__ import annotations

import pytest

from assistant.connections.clients import ClientRegistry, Permissions, token_hash
from assistant.connections.tables import CLIENTS
from assistant.errors import BadCallError, UnknownTokenError
from assistant.secrets import get_secret


def test_a_token_lives_in_the_keyring_and_only_its_hash_in_the_database(store, loremind_home):
    registry = ClientRegistry(store)
    client, token = registry.register("Claude Desktop", Permissions(read_memories=True))
    assert token.startswith("lm-") and len(token) > 40
    assert get_secret(f"connect-token:{client.id}") == token
    row = store.rows(CLIENTS.name)[0]
    assert row["token_hash"] == token_hash(token) and token not in str(row)
    assert not any(token.encode() in f.read_bytes()
                   for f in (loremind_home).rglob("*") if f.is_file())
    assert registry.authenticate(token) == client
    assert client.permissions.read_memories and not client.permissions.propose_memories


def test_wrong_renewed_and_removed_tokens_are_refused(store):
    registry = ClientRegistry(store)
    client, token = registry.register("Script", Permissions())
    with pytest.raises(UnknownTokenError, match="no app registered"):
        registry.authenticate(token + "x")
    new = registry.renew_token(client.id)
    with pytest.raises(UnknownTokenError):
        registry.authenticate(token)
    assert registry.authenticate(new).id == client.id
    registry.remove(client.id)
    with pytest.raises(UnknownTokenError):
        registry.authenticate(new)
    assert get_secret(f"connect-token:{client.id}") is None


def test_names_are_unique_and_checked_and_nothing_is_kept_of_a_refusal(store):
    registry = ClientRegistry(store)
    registry.register("Jan", Permissions())
    for name, message in (("jan", "registered already"), ("", "needs a name"),
                          ("x" * 61, "at most 60"), ("bad\x00name", "printable")):
        with pytest.raises(BadCallError, match=message):
            registry.register(name, Permissions())
    with pytest.raises(BadCallError, match="choose from search, chat, embeddings"):
        Permissions(tools=("search", "shell"))
    assert [c.name for c in registry.list()] == ["Jan"]


def test_permissions_change_and_switching_off_is_kept(store, tmp_path):
    registry = ClientRegistry(store)
    client, _token = registry.register("Editor", Permissions())
    narrowed = Permissions(tools=("search",)).with_folders([str(tmp_path / "notes")])
    registry.update(client.id, permissions=narrowed, enabled=False)
    again = registry.get("editor")
    assert again.permissions.folders == (str((tmp_path / "notes").resolve()),)
    assert again.permissions.tools == ("search",) and not again.enabled


def test_a_change_made_through_another_connection_is_seen_at_the_next_call(store):
    from assistant.migrations import open_database
    from assistant.paths import app_paths

    here = ClientRegistry(store)
    client, token = here.register("Jan", Permissions())
    assert here.authenticate(token).enabled  # read once, then kept while the table is unchanged
    elsewhere = ClientRegistry(open_database(app_paths()))  # as another process opens it
    elsewhere.update(client.id, enabled=False)
    assert not here.authenticate(token).enabled
    new = elsewhere.renew_token(client.id)
    with pytest.raises(UnknownTokenError):
        here.authenticate(token)
    assert here.authenticate(new).id == client.id
