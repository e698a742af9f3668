"""ModelManager against a real HTTP hub on 127.0.0.1: downloads, failures, tokens, use."""

from __future__ import annotations

import hashlib
import shutil
from collections import namedtuple

import pytest

from assistant.config import load_settings
from assistant.errors import ModelError
from assistant.models import ModelManager, ModelProfile
from assistant.models.errors import (
    ChecksumError,
    ConnectionLostError,
    DiskFullError,
    OfflineError,
    TokenRequiredError,
)
from assistant.paths import app_paths
from tests.models.conftest import GATED, QWEN, closed_port_url
from tests.models.hub_server import FakeHub

QWEN_NAME = "qwen2.5-0.5b"


def manager() -> ModelManager:
    return ModelManager(app_paths().ensure())


def partial_files() -> list:
    folder = app_paths().models_dir / ".partial"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_full_download_is_verified_installed_and_listed(hub, model_bytes):
    from huggingface_hub import constants

    models = manager()
    seen = []
    model = models.pull(QWEN_NAME, seen.append)
    assert model is not None and model.path.read_bytes() == model_bytes
    assert model.sha256 == hashlib.sha256(model_bytes).hexdigest()
    phases = [p.phase for p in seen]
    assert phases[0] == "connecting" and phases[-1] == "verifying"
    last = [p for p in seen if p.phase == "downloading"][-1]
    assert last.done == last.total == len(model_bytes)
    assert [s.method for s in hub.seen] == ["HEAD", "GET"]
    assert partial_files() == []
    row = next(r for r in models.rows() if r.name == QWEN_NAME)
    assert row.installed and row.path == str(model.path) and not row.in_use
    assert models.pull(QWEN_NAME) == model  # already there: nothing is fetched again
    assert len(hub.seen) == 2
    assert constants.HF_HUB_OFFLINE  # only the worker went online; this process stays offline


def test_cancel_keeps_the_part_and_the_next_pull_resumes_it(hub, model_bytes):
    hub.throttle_bytes_per_s = 4_000_000
    models = manager()
    seen = []

    def progress(p):
        seen.append(p)
        if p.phase == "downloading" and p.done >= len(model_bytes) // 3:
            models.cancel(QWEN_NAME)

    assert models.pull(QWEN_NAME, progress) is None
    kept = models.partial_bytes(models.entry(QWEN_NAME))
    # progress counts a chunk as it arrives, the file holds it once written: up to 1 MiB less
    assert len(model_bytes) // 3 - 1024 * 1024 <= kept < len(model_bytes)
    moving = [p for p in seen if p.phase == "downloading" and p.bytes_per_s > 0]
    assert moving and all(p.seconds_left is not None for p in moving)
    assert 0 < moving[-1].bytes_per_s < 8_000_000  # measured, and bounded by the server's 4 MB/s
    assert "MB/s" in moving[-1].describe() and "left" in moving[-1].describe()
    hub.throttle_bytes_per_s = None
    model = models.pull(QWEN_NAME)
    assert model is not None and model.path.read_bytes() == model_bytes
    assert hub.ranges() == [f"bytes={kept}-"]
    assert partial_files() == []


def test_a_damaged_file_is_refused_and_its_part_removed(hub, model_bytes):
    hub.add(*QWEN, model_bytes, corrupt=True)
    models = manager()
    with pytest.raises(ChecksumError, match="checksum does not match"):
        models.pull(QWEN_NAME)
    assert partial_files() == []
    assert models.installed() == []


def test_the_server_going_away_keeps_the_part_for_a_resume(hub, model_bytes, monkeypatch):
    hub.vanish_after_bytes = len(model_bytes) // 2
    models = manager()
    with pytest.raises(ConnectionLostError, match="resume"):
        models.pull(QWEN_NAME)
    kept = models.partial_bytes(models.entry(QWEN_NAME))
    assert 0 < kept <= len(model_bytes) // 2
    back = FakeHub().start()
    try:
        back.add(*QWEN, model_bytes)
        monkeypatch.setenv("HF_ENDPOINT", back.url)
        model = models.pull(QWEN_NAME)
        assert model is not None and model.path.read_bytes() == model_bytes
        assert back.ranges() == [f"bytes={kept}-"]
    finally:
        back.stop()


def test_too_little_disk_space_is_refused_before_any_request(hub, monkeypatch):
    usage = namedtuple("usage", "total used free")
    # A full disk can't be made on demand here: the free-space figure is the injected failure.
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10**12, 10**12 - 10**7, 10**7))
    with pytest.raises(DiskFullError, match="Not enough disk space"):
        manager().pull(QWEN_NAME)
    assert hub.seen == []


def test_a_gated_model_asks_for_a_token_then_downloads_with_it(hub, model_bytes, file_keyring):
    hub.add(*GATED, model_bytes, token="hf_right")
    models = manager()
    with pytest.raises(TokenRequiredError, match="loremind models token set"):
        models.pull("gemma-3-1b")
    models.set_token("hf_wrong")
    with pytest.raises(TokenRequiredError, match="refused your token"):
        models.pull("gemma-3-1b")
    models.set_token("hf_right")
    assert file_keyring.get_password("loremind", "huggingface-token") == "hf_right"
    model = models.pull("gemma-3-1b")
    assert model is not None and model.path.read_bytes() == model_bytes
    assert hub.seen[-1].authorization == "Bearer hf_right"
    config = app_paths().config_file
    assert not config.exists() or "hf_right" not in config.read_text()
    assert models.remove_token() and not models.has_token() and not models.remove_token()


def test_offline_is_said_plainly_and_installed_models_keep_working(monkeypatch, tiny_model_path):
    from assistant.engine import LocalModel
    from assistant.engine.model import SamplingParams

    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    models = manager()
    models.import_file(tiny_model_path, "tiny")
    models.use("tiny")
    with pytest.raises(OfflineError, match="You are offline"):
        models.pull(QWEN_NAME)
    settings = load_settings(app_paths().config_file)
    model = LocalModel.from_settings(settings.model)
    try:
        reply = model.stream_chat([{"role": "user", "content": "hello"}],
                                  SamplingParams.greedy(max_tokens=8)).read()
        assert model.path.name == "tiny.gguf" and isinstance(reply, str)
    finally:
        model.close()


def test_import_use_per_model_settings_and_remove(tiny_model_path):
    models = manager()
    imported = models.import_file(tiny_model_path)
    assert imported.name == "tiny" and imported.path.read_bytes() == tiny_model_path.read_bytes()
    assert models.import_file(tiny_model_path).name == "tiny-2"
    models.set_profile(imported.path, ModelProfile(context_size=256, gpu_layers=0,
                                                   system_prompt="Answer in one line."))
    assert models.use("tiny") == imported.path.resolve()
    settings = load_settings(app_paths().config_file)
    assert settings.model.path == str(imported.path.resolve())
    assert (settings.model.context_size, settings.model.gpu_layers) == (256, 0)
    assert settings.generation.system_prompt == "Answer in one line."
    assert next(r for r in models.rows() if r.name == "tiny").in_use
    models.remove("tiny")
    assert load_settings(app_paths().config_file).model.path == ""  # the demo again
    assert not imported.path.exists()
    with pytest.raises(ModelError, match="No installed model"):
        models.remove("tiny")


def test_use_explains_what_is_missing(tmp_path):
    models = manager()
    with pytest.raises(ModelError, match="loremind models pull qwen2.5-0.5b"):
        models.use(QWEN_NAME)
    with pytest.raises(ModelError, match="neither an installed model nor a file"):
        models.use("no-such-model")
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    with pytest.raises(ModelError, match="not a GGUF file"):
        models.use(str(not_gguf))
    with pytest.raises(ModelError, match="no model called"):
        models.pull("no-such-model")


def test_a_missing_file_or_repository_is_named(hub, model_bytes):
    from assistant.models.errors import RemoteFileMissingError

    del hub.files[QWEN]
    hub.add(QWEN[0], "README.md", b"# not the model")
    models = manager()
    with pytest.raises(RemoteFileMissingError, match="has no file Qwen2.5-0.5B"):
        models.pull(QWEN_NAME)
    with pytest.raises(RemoteFileMissingError, match="did not find the repository"):
        models.pull("llama-3.2-1b")  # a repository this hub does not have
    assert partial_files() == []
