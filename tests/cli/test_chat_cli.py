"""``loremind ask|chat|doctor|bench engine|memory|sessions`` as a user runs them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.cli import main


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result


def run_json(*args: str):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_ask_json_uses_a_remembered_preference():
    assert run("memory", "add", "I prefer metric units").exit_code == 0
    answer = run_json("ask", "--json", "How tall is Mont Blanc?")
    for key in ("text", "model", "prompt_tokens", "completion_tokens", "seconds", "sources",
                "memories_used", "session_id"):
        assert key in answer
    assert answer["text"]
    assert [m["text"] for m in answer["memories_used"]] == ["I prefer metric units"]
    assert answer["model"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    chats = run_json("sessions", "list", "--json")
    assert [c["id"] for c in chats] == [answer["session_id"]]
    shown = run_json("sessions", "show", answer["session_id"], "--json")
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant"]
    assert run_json("sessions", "search", "--json", "Mont Blanc height")[0]["session_id"] == \
        answer["session_id"]
    assert run("sessions", "delete", answer["session_id"]).exit_code == 0
    assert run_json("sessions", "list", "--json") == []


def test_memory_export_import_into_a_fresh_data_dir(tmp_path, monkeypatch):
    run("memory", "add", "I prefer metric units")
    run("memory", "add", "My cat is called Tom")
    listed = run_json("memory", "list", "--json")
    tom = next(m for m in listed if "Tom" in m["text"])
    run("memory", "edit", tom["id"], "My cat is called Tim")
    run("memory", "forget", tom["id"])
    export = tmp_path / "memories.json"
    assert run("memory", "export", str(export)).exit_code == 0
    before = run_json("memory", "list", "--all", "--json")
    history = run_json("memory", "history", tom["id"], "--json")

    monkeypatch.setenv("LOREMIND_HOME", str(tmp_path / "fresh"))
    assert "Imported 2" in run("memory", "import", str(export)).output
    assert "Imported 0" in run("memory", "import", str(export)).output
    assert run_json("memory", "list", "--all", "--json") == before
    assert run_json("memory", "history", tom["id"], "--json") == history
    restored = run("memory", "restore", tom["id"])
    assert restored.exit_code == 0 and "My cat is called Tim" in restored.output
    assert sorted(m["text"] for m in run_json("memory", "list", "--json")) == [
        "I prefer metric units", "My cat is called Tim"]  # the forget was undone


def test_memory_pending_approve_reject_pause(embedder, store):
    from assistant.memory.book import MemoryBook

    book = MemoryBook(store, embedder)
    keep = book.propose("I play the cello")
    drop = book.propose("My favourite colour is green")
    pending = run_json("memory", "pending", "--json")
    assert {m["id"] for m in pending} == {keep.id, drop.id}
    assert run("memory", "approve", keep.id).exit_code == 0
    assert run("memory", "reject", drop.id).exit_code == 0
    assert [m["text"] for m in run_json("memory", "list", "--json")] == ["I play the cello"]
    assert "paused" in run("memory", "pause").output
    assert book.paused
    run("memory", "resume")
    assert not book.paused


def test_unknown_memory_is_a_clear_error():
    result = run("memory", "forget", "nope")
    assert result.exit_code == 1
    assert "Error: 'nope' matches no memory" in result.output


def test_ask_with_a_missing_model_is_a_clear_error(tmp_path):
    result = run("ask", "--model", str(tmp_path / "gone.gguf"), "hi")
    assert result.exit_code == 1
    assert "Error: Model file not found" in result.output


@pytest.mark.slow
def test_temporary_chat_stores_nothing():
    result = run("chat", "--temporary", input="Remember that I like tea.\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "temporary chat" in result.output
    assert run_json("sessions", "list", "--json") == []
    assert run_json("memory", "list", "--all", "--json") == []


def test_doctor_json(tiny_model_path):
    report = run_json("doctor", "--json", "--model", str(tiny_model_path))
    assert isinstance(report["gpu_offload_supported"], bool)
    if report["gpu_offload_supported"]:
        assert report["n_gpu_layers"] > 0  # automatic placement puts the tiny model on the GPU
    else:
        assert report["n_gpu_layers"] == 0
    assert report["model"]["architecture"] == "llama"
    assert report["model"]["context_length"] == 512
    assert report["model"]["size_bytes"] == tiny_model_path.stat().st_size
    assert report["model"]["path"] == str(tiny_model_path)


def test_bench_engine_json(tmp_path):
    from assistant.bench.synthetic import write_tiny_model

    model = write_tiny_model(tmp_path / "tiny-2k.gguf", context=2048)
    result = run_json("bench", "engine", "--json", "--model", str(model))
    for key in ("raw_tokens_per_s", "app_tokens_per_s", "ratio", "prompt_tokens_per_s"):
        assert result[key] > 0
    for key in ("ttft_s", "turn_new_tokens", "turn_evaluated_tokens"):
        assert len(result[key]) == 4
