"""The training benchmark times the whole Teach run, phase by phase, against a plain PEFT script
that does the same work on the same examples (a tiny model, two steps)."""

from __future__ import annotations

import json

import pytest

from assistant.bench.train import PHASES, _durations, plain_peft_run, run_train_bench
from assistant.config import Settings
from assistant.core import LoraSettings, Loremind, TeachSource
from assistant.engine import read_gguf
from assistant.engine.adapter_files import AdapterCatalog
from assistant.errors import TrainingError
from assistant.paths import app_paths


def test_phases_are_the_time_between_the_lines_that_end_them():
    ends = {"start": 1.0, "load": 3.0, "probe": 3.5, "train": 7.0, "export": 7.5,
            "evaluate": 9.0, "finish": 9.25}
    assert _durations(ends) == {"start": 1.0, "load": 2.0, "probe": 0.5, "train": 3.5,
                                "export": 0.5, "evaluate": 1.5, "finish": 0.25}


def test_the_app_and_the_plain_script_are_timed_whole_on_the_same_work(tiny_model_path):
    result = run_train_bench(steps=2, threads=1, model_path=tiny_model_path)
    assert result["model"] == "tiny.gguf" and result["steps"] == 2
    for side in ("app", "plain_peft"):
        phases = result[f"{side}_phases_s"]
        assert list(phases) == list(PHASES)
        assert all(seconds >= 0 for seconds in phases.values()), phases
        assert phases["load"] > 0 and phases["train"] > 0 and phases["evaluate"] > 0
        assert sum(phases.values()) == pytest.approx(result[f"{side}_total_s"], abs=0.2)
    assert result["app_phases_s"]["probe"] > 0 and result["plain_peft_phases_s"]["probe"] == 0
    assert result["ratio"] == pytest.approx(result["app_total_s"] / result["plain_peft_total_s"],
                                            rel=0.1)
    assert result["app_cpu_s"] > 0 and result["plain_peft_cpu_s"] > 0
    # The same seed, batches and examples: the same training, step for step.
    assert result["plain_peft_train_loss_first_last"] == pytest.approx(
        result["app_train_loss_first_last"], abs=1e-3)
    # The held-out loss without the adapter: llama.cpp and PyTorch read the same model.
    before_app = result["app_heldout_loss_before_after_llama_cpp"][0]
    before_plain = result["plain_peft_heldout_loss_before_after_torch"][0]
    assert before_plain == pytest.approx(before_app, rel=0.02)


def test_the_plain_script_writes_an_adapter_llama_cpp_reads(tiny_model_path, tmp_path):
    core = Loremind.open(app_paths().ensure(), Settings())
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": f"the cat {i}", "response": "hello world"})
                             + "\n" for i in range(8)), encoding="utf-8")
    settings = LoraSettings(rank=4, alpha=8, steps=2)
    data = core.teach.prepare(TeachSource("pairs", (pairs,)), settings, model=tiny_model_path)
    data.save(tmp_path / "dataset.json")
    run = plain_peft_run(tiny_model_path, tmp_path / "dataset.json", settings, tmp_path / "out",
                         threads=1)
    adapter = AdapterCatalog([tmp_path / "out"], read_gguf(tiny_model_path)).find("adapter")
    assert adapter.compatible and adapter.alpha == 8.0 and adapter.rank == 4
    assert (tmp_path / "out" / "adapter_model.safetensors").exists()  # save_pretrained's
    assert run["phases"]["finish"] >= 0 and len(run["heldout_loss_before_after"]) == 2


def test_a_failing_plain_script_is_an_error_not_a_figure(tiny_model_path, tmp_path):
    (tmp_path / "dataset.json").write_text("{}", encoding="utf-8")
    with pytest.raises(TrainingError, match="The plain PEFT script failed"):
        plain_peft_run(tiny_model_path, tmp_path / "dataset.json", LoraSettings(steps=2),
                       tmp_path / "out")
