"""Adapters on a remote engine: llama_cpp.server started with a LoRA answers a chat that chose
that adapter exactly like the local engine with the adapter; other sets are reported as
local-only; llama-server's per-request ids are sent with each request."""

from __future__ import annotations

import json

import keyring
import pytest
from click.testing import CliRunner

from assistant.bench.synthetic import write_lora
from assistant.chat.answering import AskOptions
from assistant.chat.events import Done, Notice, Token
from assistant.cli import main
from assistant.config import RemoteSettings, Settings, save_settings
from assistant.core import Loremind
from assistant.defaults import embedded_chat_model
from assistant.engine import SamplingParams, read_gguf
from assistant.engine.remote import RemoteModel
from assistant.engine.remote_adapters import RemoteAdapters
from assistant.engine.remote_http import ServerClient
from assistant.engine.remote_tokens import TokenCounter
from assistant.errors import AdapterError
from assistant.paths import app_paths
from tests.engine.remote_support import LlamaServer, MemoryKeyring, free_port

QUESTION = "Name three colours of the rainbow."
GREEDY = SamplingParams.greedy(24)


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


def ask(assistant, adapters):
    session = assistant.chat.new_session(temporary=True)
    if adapters:
        assistant.adapters.set_for_chat(session, adapters)
    events = list(assistant.chat.ask(session, QUESTION, AskOptions(sampling=GREEDY,
                                                              use_knowledge=False)))
    assert isinstance(events[-1], Done), events[-1]
    return events[-1].text, [e.text for e in events if isinstance(e, Notice)], events


@pytest.mark.slow
def test_server_started_with_the_adapter_answers_like_the_local_engine(embedded_model,
                                                                       embedder, store):
    paths = app_paths().ensure()
    paths.adapters_dir.mkdir(parents=True, exist_ok=True)
    lora = write_lora(paths.adapters_dir / "style.gguf", read_gguf(embedded_chat_model()),
                      name="style", strength=0.8)
    embedded_model.drop_cache()
    local = Loremind(paths, Settings(), model=embedded_model, embedder=embedder, store=store)
    plain, _, _ = ask(local, [])
    styled, notices, _ = ask(local, [("style", 1.0)])
    local.parts.adapters.clear()  # the session's shared model goes back to no adapters
    assert styled != plain, "the adapter changes the greedy answer (or the test proves nothing)"
    assert notices == []

    server = LlamaServer(embedded_chat_model(), n_ctx=2048, lora=lora)
    settings = Settings()
    settings.model.remote = RemoteSettings(base_url=server.url, context_size=2048,
                                           server_adapters=["style:1"])
    remote = RemoteModel.connect(settings.model.remote)
    try:
        served = Loremind(paths, settings, model=remote, embedder=embedder, store=store)
        served_adapters = served.parts.adapters
        assert isinstance(served_adapters, RemoteAdapters) and served_adapters.mode == "fixed"
        text, notices, events = ask(served, [("style", 1.0)])
        assert text == styled
        assert notices == []
        assert events[-1].stats.adapters[0]["name"] == "style"
        assert sum(isinstance(e, Token) for e in events) > 3
        _, notices, _ = ask(served, [("style", 0.5)])
        assert len(notices) == 1 and "applies style×1 to every answer" in notices[0]

        settings.model.engine = "remote"
        save_settings(settings, paths.config_file)
        listed = CliRunner().invoke(main, ["adapters", "list"])
        assert listed.exit_code == 0, listed.output
        assert "applies style×1 to every answer" in listed.output
        settings.model.remote.server_adapters = []
        save_settings(settings, paths.config_file)
        listed = CliRunner().invoke(main, ["adapters", "list", "--json"])
        assert "adapters are local-only for this model" in listed.stderr
        assert json.loads(listed.stdout) == []
    finally:
        remote.close()
        server.stop()


def offline_model(lora_adapters):
    """A RemoteModel object as connect() builds it, for a server that is not asked anything."""
    client = ServerClient(f"http://127.0.0.1:{free_port()}/v1")
    return RemoteModel(client, "m", 512, TokenCounter(client, "m"), lora_adapters)


def test_per_request_adapters_are_sent_by_server_id():
    model = offline_model([{"id": 0, "path": "/srv/lora/style.gguf", "scale": 0.0},
                           {"id": 1, "path": "/srv/lora/legal.gguf", "scale": 1.0}])
    adapters = RemoteAdapters.for_model(model, RemoteSettings(base_url="http://x/v1"))
    assert adapters.mode == "per_request"
    assert [i.name for i in adapters.catalog.adapters] == ["style", "legal"]
    assert adapters.apply([("legal", 0.7)])
    # Every adapter is named: llama-server keeps its global scale for those a request omits.
    assert model.request_lora == [{"id": 0, "scale": 0.0}, {"id": 1, "scale": 0.7}]
    body = model._body([{"role": "user", "content": "hi"}], GREEDY, 8, ())
    assert body["lora"] == model.request_lora
    adapters.close()
    assert "lora" not in model._body([{"role": "user", "content": "hi"}], GREEDY, 8, ())
    model.close()


def test_a_server_without_adapters_says_they_are_local_only():
    model = offline_model(None)
    adapters = RemoteAdapters.for_model(model, RemoteSettings(base_url="http://x/v1"))
    assert adapters.mode == "local_only"
    assert "local-only for this model" in adapters.catalog.note
    with pytest.raises(AdapterError, match="local-only"):
        adapters.catalog.find("style")
    from assistant.engine.adapters import AdapterSet

    resolved = adapters.resolve(AdapterSet.from_list([{"name": "style", "scale": 1.0}]))
    assert resolved.adapters == () and "local-only" in resolved.warnings[0]
    model.close()
