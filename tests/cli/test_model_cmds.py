"""``loremind models …`` in a terminal, against a real HTTP hub on 127.0.0.1."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.paths import app_paths
from tests.models.conftest import GATED, closed_port_url, file_keyring, hub, model_bytes

__all__ = ["file_keyring", "hub", "model_bytes"]  # fixtures shared with tests/models
pytestmark = pytest.mark.usefixtures("file_keyring")  # never the real keyring
LIST_KEYS = {"name", "repo", "file", "size_bytes", "params", "context_length", "license", "fits",
             "installed", "recommended"}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def loremind(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True,
                          text=True, timeout=120, **kwargs)


def partial_size() -> int:
    folder = app_paths().models_dir / ".partial"
    return sum(p.stat().st_size for p in folder.glob("*.part")) if folder.exists() else 0


def test_list_json_has_the_catalogue_with_fit_and_one_recommendation():
    result = run("models", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) >= 8 and all(LIST_KEYS <= set(row) for row in rows)
    assert sum(row["recommended"] for row in rows) == 1
    assert all(isinstance(row["fits"], bool) and not row["installed"] for row in rows)
    text = run("models", "list").output
    assert "recommended" in text and "embedded demo" in text


def test_pull_killed_half_way_resumes_then_the_model_is_installed(hub, model_bytes):
    hub.throttle_bytes_per_s = 3_000_000
    pull = subprocess.Popen([sys.executable, "-m", "assistant", "models", "pull", "qwen2.5-0.5b"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while partial_size() < len(model_bytes) // 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    pull.kill()
    _out, progress = pull.communicate(timeout=30)
    kept = partial_size()
    assert len(model_bytes) // 2 <= kept < len(model_bytes)
    time.sleep(1.0)
    assert partial_size() == kept  # the worker died with the command: nothing writes any more
    assert "%" in progress and "MB/s" in progress and "left" in progress
    hub.throttle_bytes_per_s = None
    done = loremind("models", "pull", "qwen2.5-0.5b")
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr and "Installed qwen2.5-0.5b" in done.stdout
    assert hub.ranges()[-1] == f"bytes={kept}-"
    installed = app_paths().models_dir / "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"
    assert installed.read_bytes() == model_bytes and partial_size() == 0


def test_pull_refuses_a_corrupted_file(hub, model_bytes):
    hub.add("bartowski/Qwen2.5-0.5B-Instruct-GGUF", "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
            model_bytes, corrupt=True)
    result = loremind("models", "pull", "qwen2.5-0.5b")
    assert result.returncode == 1
    assert "Error:" in result.stderr and "checksum does not match" in result.stderr
    assert partial_size() == 0 and not (app_paths().models_dir / "index.json").exists()


def test_a_disk_that_fills_up_mid_download_is_reported_and_cleaned_up(hub):
    def small_disk() -> None:  # every file of the command and its worker stops at 3 MB
        resource.setrlimit(resource.RLIMIT_FSIZE, (3_000_000, 3_000_000))

    result = loremind("models", "pull", "qwen2.5-0.5b", preexec_fn=small_disk)
    assert result.returncode == 1, result.stderr
    assert "disk filled up" in result.stderr and partial_size() == 0


def test_gated_and_offline_pulls_say_what_to_do(hub, model_bytes, file_keyring, monkeypatch):
    hub.add(*GATED, model_bytes, token="hf_ok")
    gated = loremind("models", "pull", "gemma-3-1b")
    assert gated.returncode == 1 and "loremind models token set" in gated.stderr
    assert run("models", "token", "set", "--token", "hf_ok").exit_code == 0
    assert "A token is stored" in run("models", "token", "status").output
    assert loremind("models", "pull", "gemma-3-1b").returncode == 0
    assert run("models", "token", "rm").output.strip() == "Token removed."
    assert file_keyring.get_password("loremind", "huggingface-token") is None
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    offline = loremind("models", "pull", "qwen2.5-0.5b")
    assert offline.returncode == 1 and "You are offline" in offline.stderr


def test_import_use_and_rm(tiny_model_path):
    imported = run("models", "import", str(tiny_model_path), "--name", "mine")
    assert imported.exit_code == 0 and "Imported mine" in imported.output
    assert run("models", "use", "mine").exit_code == 0
    rows = {r["name"]: r for r in json.loads(run("models", "list", "--json").output)}
    assert rows["mine"]["installed"] and rows["mine"]["in_use"]
    removed = run("models", "rm", "mine")
    assert "embedded demo" in removed.output
    missing = run("models", "use", "mine")
    assert missing.exit_code == 1


@pytest.mark.slow
def test_a_pulled_model_answers_and_doctor_reports_it(hub, model_bytes):
    assert loremind("models", "pull", "qwen2.5-0.5b").returncode == 0
    use = loremind("models", "use", "qwen2.5-0.5b")
    assert use.returncode == 0, use.stderr
    installed = str((app_paths().models_dir / "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf").resolve())
    env = {**os.environ, "HF_ENDPOINT": closed_port_url()}  # answering needs no network
    answer = loremind("ask", "--json", "--no-knowledge", "Say hello", env=env)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["model"] == installed
    doctor = json.loads(loremind("doctor", "--json").stdout)
    assert doctor["model"]["path"] == installed and doctor["model"]["embedded_demo"] is False
