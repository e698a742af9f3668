"""The training worker on a tiny model: a finished adapter with its card, and the ways a run ends
early (too little memory, cancelled, killed), which never leave a half-written adapter."""

from __future__ import annotations

import json
import signal

import pytest

from assistant.engine import read_gguf
from assistant.engine.adapter_files import AdapterCatalog
from assistant.errors import TrainingError
from assistant.paths import app_paths
from assistant.training.card import card_path, delete_adapter, read_card
from assistant.training.job import LoraSettings
from assistant.training.teach import TeachSource, jobs_dir, prepare, start


@pytest.fixture
def data(tiny_model_path, tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"the cat {i}", "response": "hello world"})
                            + "\n" for i in range(12)), encoding="utf-8")
    return prepare(TeachSource("pairs", (path,)), tiny_model_path, LoraSettings(max_tokens=96))


def settings(steps, every=5):
    return LoraSettings(rank=4, alpha=8, steps=steps, lr=1e-2, max_tokens=96,
                        checkpoint_every=every)


def left_in(folder):
    """Everything in the adapters folder, hidden files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_finished_run_publishes_the_adapter_and_its_card(data, tiny_model_path):
    paths = app_paths().ensure()
    run = start("style", data, tiny_model_path, paths, settings(12), threads=1)
    events = list(run)
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["loading", "probe"] and kinds[-3:] == ["exporting", "evaluating", "done"]
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 13))
    assert all(e["tokens_per_s"] > 0 and e["seconds_left"] >= 0 for e in steps)
    assert left_in(paths.adapters_dir) == ["style.card.json", "style.gguf"]
    card = read_card(paths.adapters_dir / "style.gguf")
    assert card == run.outcome()["card"]
    assert card["base_model"]["file"] == "tiny.gguf" and len(card["base_model"]["sha256"]) == 64
    assert card["data"]["counts"]["train_examples"] == 11
    assert card["data"]["sources"][0]["path"].endswith("pairs.jsonl")
    assert card["settings"]["rank"] == 4 and len(card["loss_curve"]) == 12
    assert card["heldout_loss_after"] < card["heldout_loss_before"]
    info = AdapterCatalog([paths.adapters_dir], read_gguf(tiny_model_path)).find("style")
    assert info.compatible and info.alpha == 8.0 and info.rank == 4
    assert not (jobs_dir(paths) / "style").exists()  # the checkpoint went with the job
    delete_adapter(info.path)
    assert left_in(paths.adapters_dir) == []


def test_too_little_memory_is_refused_before_training(data, tiny_model_path):
    paths = app_paths().ensure()
    run = start("big", data, tiny_model_path, paths, settings(5), memory_limit_bytes=2**20)
    with pytest.raises(TrainingError, match=r"needs about .* GiB of memory, but only 0.0 GiB"):
        run.wait()
    assert not any(e["event"] == "step" for e in run.events)
    assert left_in(paths.adapters_dir) == []


def test_a_cancelled_run_leaves_no_adapter_and_resumes_from_its_checkpoint(data,
                                                                          tiny_model_path):
    paths = app_paths().ensure()
    run = start("resumable", data, tiny_model_path, paths, settings(400, every=2), threads=1)
    for event in run:
        if event["event"] == "checkpoint" and event["step"] >= 4:
            run.cancel()
    with pytest.raises(TrainingError, match="cancelled; no adapter was written"):
        run.outcome()
    assert left_in(paths.adapters_dir) == []
    assert (jobs_dir(paths) / "resumable" / "checkpoint.pt").exists()
    again = start("resumable", data, tiny_model_path, paths, settings(400, every=2), threads=1)
    for event in again:
        if event["event"] == "step":
            again.cancel()
    resumed = next(e["step"] for e in again.events if e["event"] == "resumed")
    assert resumed >= 4
    assert next(e["step"] for e in again.events if e["event"] == "step") == resumed + 1
    assert left_in(paths.adapters_dir) == []


def test_a_killed_worker_is_reported_and_leaves_nothing_behind(data, tiny_model_path):
    paths = app_paths().ensure()
    run = start("killed", data, tiny_model_path, paths, settings(400), threads=1)
    for event in run:
        if event["event"] == "step":
            run.process.send_signal(signal.SIGKILL)
    with pytest.raises(TrainingError, match=r"stopped unexpectedly \(exit status -9\); no adapter"):
        run.outcome()
    assert left_in(paths.adapters_dir) == []


def test_a_killed_export_leaves_only_what_the_parent_cleans(data, tiny_model_path):
    paths = app_paths().ensure()
    run = start("half", data, tiny_model_path, paths, settings(3), threads=1)
    for event in run:
        if event["event"] == "evaluating":  # the adapter is staged, not yet published
            assert left_in(paths.adapters_dir) == [".half.training.gguf"]
            run.process.send_signal(signal.SIGKILL)
    with pytest.raises(TrainingError, match="stopped unexpectedly"):
        run.outcome()
    assert left_in(paths.adapters_dir) == []
    assert not card_path(paths.adapters_dir / "half.gguf").exists()


def test_a_name_in_use_is_refused(data, tiny_model_path):
    paths = app_paths().ensure()
    paths.adapters_dir.mkdir(parents=True)
    (paths.adapters_dir / "taken.gguf").write_bytes(b"GGUF")
    with pytest.raises(TrainingError, match="already exists"):
        start("taken", data, tiny_model_path, paths, settings(3))
    with pytest.raises(TrainingError, match="can't name an adapter"):
        start("../escape", data, tiny_model_path, paths, settings(3))
