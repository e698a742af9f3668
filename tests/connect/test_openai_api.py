"""The OpenAI-compatible API, driven by the official ``openai`` client: streamed answers that
cite documents and use memories, adapters by model name, embeddings, and every refusal."""

from __future__ import annotations

import base64
import time

import httpx2
import numpy as np
import openai
import pytest

from assistant.bench.synthetic import write_lora
from assistant.core import MemoryStatus, Permissions
from assistant.engine import read_gguf
from tests.connect.support import MEMORY, QUESTION, connected_core

EVERYTHING = Permissions(read_memories=True, propose_memories=True)


def client_for(url: str, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0, timeout=120)


def test_a_streamed_answer_cites_a_document_and_uses_a_memory(connected, served):
    app, token = connected.connections.register("Script", EVERYTHING)
    stream = client_for(served, token).chat.completions.create(
        model="loremind", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "Answer in one line."},
                  {"role": "user", "content": QUESTION}])
    chunks = list(stream)
    drawn = chunks[0].model_extra["loremind"]
    assert drawn["sources"][0]["path"].endswith("boiler.md")
    assert drawn["sources"][0]["citation"] == "boiler.md · Boiler manual > Errors"
    assert [m["text"] for m in drawn["memories_used"]] == [MEMORY]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    finished = [c.choices[0].finish_reason for c in chunks if c.choices and
                c.choices[0].finish_reason]
    assert finished in (["stop"], ["length"])
    assert chunks[-1].usage.completion_tokens > 0
    assert connected.chat.list() == []  # nothing stored as a chat
    assert connected.memory.list(MemoryStatus.PENDING) == []  # nor proposed
    entry = connected.connections.audit(app.id)[0]
    assert (entry.action, entry.outcome) == ("chat", "ok")
    assert "1 document and 1 memory" in entry.detail


def test_a_whole_answer_an_adapter_by_model_name_and_the_models_list(connected, served,
                                                                    chat_model_2k):
    folder = connected.paths.adapters_dir
    folder.mkdir(parents=True, exist_ok=True)
    write_lora(folder / "my-style.gguf", read_gguf(chat_model_2k), name="my-style")
    _app, token = connected.connections.register("Jan", Permissions())
    api = client_for(served, token)
    assert [m.id for m in api.models.list()] == ["loremind", "loremind:my-style",
                                                 "loremind-embeddings"]
    answer = api.chat.completions.create(
        model="loremind:my-style:0.5", messages=[{"role": "user", "content": "Hello"}],
        max_tokens=4, extra_body={"loremind": {"knowledge": False}})
    assert answer.choices[0].message.role == "assistant"
    assert answer.model_extra["loremind"]["sources"] == []
    assert answer.model_extra["loremind"]["memories_used"] == []  # Jan may not read them
    with pytest.raises(openai.NotFoundError, match="my-other-style"):
        api.chat.completions.create(model="loremind:my-other-style",
                                    messages=[{"role": "user", "content": "Hello"}])
    with pytest.raises(openai.NotFoundError, match="does not exist here"):
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])


def test_a_wrong_token_gets_401_and_a_disabled_app_gets_nothing(connected, served):
    app, token = connected.connections.register("Script", EVERYTHING)
    with pytest.raises(openai.AuthenticationError, match="no app registered"):
        client_for(served, "lm-wrong").models.list()
    connected.connections.set_enabled(app.id, False)
    api = client_for(served, token)
    for call in (lambda: api.models.list(),
                 lambda: api.embeddings.create(model="loremind-embeddings", input="hi"),
                 lambda: api.chat.completions.create(
                     model="loremind", stream=True,
                     messages=[{"role": "user", "content": "Remember that I like jazz"}])):
        with pytest.raises(openai.PermissionDeniedError, match="switched off"):
            call()
    assert connected.chat.list() == []
    assert [m.text for m in connected.memory.list(status=None)] == [MEMORY]
    assert {e.outcome for e in connected.connections.audit(app.id)} == {"refused"}


@pytest.fixture
def storyteller(embedder, store, tmp_path):
    """The server over a core on the embedded SmolLM2, which writes a long story to the end
    (the tiny random model may stop after a few tokens, before any app could hang up)."""
    from assistant.connect.http import ConnectServer

    core = connected_core(None, embedder, store, tmp_path / "docs")
    server = ConnectServer(core, core.current_settings.connect)
    yield core, server.start()
    server.stop()
    core.close()


def test_hanging_up_mid_stream_stops_the_answer(storyteller):
    core, url = storyteller
    app, token = core.connections.register("Script", Permissions())
    api = client_for(url, token)
    stream = api.chat.completions.create(
        model="loremind", stream=True, max_tokens=1500,
        messages=[{"role": "user", "content": "Write a very long story about a lighthouse."}],
        extra_body={"loremind": {"knowledge": False}})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    stream.close()
    deadline = time.monotonic() + 60
    while not core.connections.audit(app.id) and time.monotonic() < deadline:
        time.sleep(0.05)
    entry = core.connections.audit(app.id)[0]
    assert entry.outcome == "stopped" and "stopped before the end" in entry.detail
    again = api.chat.completions.create(model="loremind", max_tokens=4,
                                        messages=[{"role": "user", "content": "Hi again"}])
    assert again.choices[0].finish_reason in ("stop", "length")  # the model is free again


def test_bad_requests_get_a_clear_error_and_nothing_runs(connected, served):
    app, token = connected.connections.register("Script", EVERYTHING)
    api = client_for(served, token)
    cases = [
        ({"messages": [{"role": "user", "content": "hi"}]}, 400, "'model' is missing"),
        ({"model": "loremind", "messages": []}, 400, "'messages' is empty"),
        ({"model": "loremind", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:,"}}]}]}, 400, "text only"),
        ({"model": "loremind", "messages": [{"role": "user", "content": "hi"}],
          "tools": [{"type": "function", "function": {"name": "f"}}]}, 400, "does not call"),
        ({"model": "loremind", "messages": [{"role": "user", "content": "hi"}],
          "temperature": 7}, 400, "'temperature'"),
        ({"model": "loremind", "messages": [{"role": "user", "content": "hi"}],
          "loremind": {"memory": "no"}}, 400, "'loremind' takes"),
        ({"model": "loremind", "messages": [{"role": "wizard", "content": "hi"}]}, 400, "role"),
    ]
    for body, status, message in cases:
        with pytest.raises(openai.APIStatusError) as caught:
            api.post("/chat/completions", body=body, cast_to=object)
        assert caught.value.status_code == status and message in caught.value.message
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    huge = httpx2.post(f"{served}/v1/chat/completions", headers=headers,
                       content=b'{"model": "loremind", "messages": [{"role": "user", '
                               b'"content": "' + b"x" * (3 * 1024 * 1024) + b'"}]}')
    assert huge.status_code == 413 and "at most" in huge.json()["error"]["message"]
    broken = httpx2.post(f"{served}/v1/chat/completions", headers=headers, content=b"{nope")
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]
    assert connected.chat.list() == [] and len(connected.memory.list(status=None)) == 1


def test_embeddings_are_the_embedders_in_both_encodings(connected, served, embedder):
    _app, token = connected.connections.register("Script", Permissions())
    api = client_for(served, token)
    texts = ["the boiler pressure", "tomatoes in July"]
    expected = embedder.encode(texts)
    as_floats = api.embeddings.create(model="loremind-embeddings", input=texts,
                                      encoding_format="float")
    as_base64 = httpx2.post(f"{served}/v1/embeddings",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"model": "loremind-embeddings", "input": texts,
                                  "encoding_format": "base64"}).json()
    for n, row in enumerate(as_floats.data):
        assert np.allclose(row.embedding, expected[n], atol=1e-6)
        decoded = np.frombuffer(base64.b64decode(as_base64["data"][n]["embedding"]), "<f4")
        assert np.allclose(decoded, expected[n], atol=1e-6)
    assert as_floats.usage.prompt_tokens == sum(embedder.count_tokens(texts))
    default = api.embeddings.create(model="loremind-embeddings", input="the boiler pressure")
    assert np.allclose(default.data[0].embedding, expected[0], atol=1e-6)
    with pytest.raises(openai.NotFoundError):
        api.embeddings.create(model="text-embedding-3-small", input="hi")
    with pytest.raises(openai.BadRequestError, match="token ids"):
        api.embeddings.create(model="loremind-embeddings", input=[[1, 2, 3]])
    with pytest.raises(openai.APIStatusError, match="at most 256") as caught:
        api.embeddings.create(model="loremind-embeddings", input=["x"] * 300)
    assert caught.value.status_code == 413


def test_two_apps_asking_at_once_both_get_whole_answers(connected, served):
    from concurrent.futures import ThreadPoolExecutor

    apps = [connected.connections.register(name, Permissions(read_memories=True))
            for name in ("Jan", "Script")]

    def ask(token: str) -> str:
        stream = client_for(served, token).chat.completions.create(
            model="loremind", stream=True, max_tokens=12,
            messages=[{"role": "user", "content": QUESTION}])
        return "".join(c.choices[0].finish_reason or "" for c in stream if c.choices)

    with ThreadPoolExecutor(2, thread_name_prefix="test-app") as pool:
        endings = list(pool.map(ask, [token for _app, token in apps]))
    assert all(ending in ("stop", "length") for ending in endings)
    for app, _token in apps:
        assert [e.outcome for e in connected.connections.audit(app.id)] == ["ok"]
