"""``loremind adapters list|inspect``, ``ask --adapter`` and ``bench adapters`` in a terminal."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.bench.synthetic import write_lora, write_tiny_model
from assistant.cli import main
from assistant.cli.options import parse_adapter_specs
from assistant.engine import read_gguf
from assistant.errors import AdapterError
from assistant.paths import app_paths


@pytest.fixture
def adapters_dir(tiny_model_path):
    """The default adapters folder of this test's LOREMIND_HOME, with a good and a bad file."""
    folder = app_paths().adapters_dir
    folder.mkdir(parents=True)
    write_lora(folder / "polite.gguf", read_gguf(tiny_model_path), rank=2, alpha=4)
    write_tiny_model(folder / "stray-model.gguf")
    return folder


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_list_json_shows_every_file_with_compatible_and_reason(adapters_dir, tiny_model_path):
    result = run("adapters", "list", "--json", "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["polite"]["compatible"] is True and rows["polite"]["reason"] == ""
    assert (rows["polite"]["rank"], rows["polite"]["alpha"]) == (2, 4.0)
    assert rows["polite"]["path"] == str(adapters_dir / "polite.gguf")
    assert rows["polite"]["size"] == (adapters_dir / "polite.gguf").stat().st_size
    assert rows["tiny-test-model"]["compatible"] is False
    assert "full model" in rows["tiny-test-model"]["reason"]


def test_list_against_the_default_model_and_configured_folders(adapters_dir, tmp_path,
                                                               tiny_model_path):
    extra = tmp_path / "more"
    extra.mkdir()
    write_lora(extra / "extra.gguf", read_gguf(tiny_model_path))
    config = app_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[adapters]\nfolders = ["{extra}"]\n')
    result = run("adapters", "list")  # judged against the embedded SmolLM2
    assert result.exit_code == 0, result.output
    assert "extra" in result.output and "incompatible" in result.output


def test_inspect_prints_the_header(adapters_dir, tiny_model_path):
    result = run("adapters", "inspect", str(adapters_dir / "polite.gguf"), "--json",
                 "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["compatible"] and data["architecture"] == "llama"
    assert "blk.0.attn_q.weight" in data["targets"]
    text = run("adapters", "inspect", str(adapters_dir / "stray-model.gguf"),
               "--model", str(tiny_model_path)).output
    assert "compatible: False" in text and "full model" in text


def test_parse_adapter_specs():
    assert parse_adapter_specs(["polite", "facts:0.5", "C:\\loras\\x.gguf"]) == [
        ("polite", 1.0), ("facts", 0.5), ("C:\\loras\\x.gguf", 1.0)]
    assert parse_adapter_specs(["/a/b.gguf:-1"]) == [("/a/b.gguf", -1.0)]
    with pytest.raises(AdapterError, match="names no adapter"):
        parse_adapter_specs([":0.5"])


def test_ask_with_adapters(adapters_dir, tiny_model_path):
    config = app_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[model]\ncontext_size = 256\n[generation]\nmax_tokens = 8\n")
    result = run("ask", "hello", "--model", str(tiny_model_path), "--json",
                 "--adapter", "polite:0.5")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["completion_tokens"] > 0
    missing = CliRunner().invoke(main, ["ask", "hi", "--model", str(tiny_model_path),
                                        "--adapter", "nobody"])
    assert missing.exit_code == 1
    assert "No adapter called 'nobody'" in missing.output
    bad = CliRunner().invoke(main, ["ask", "hi", "--model", str(tiny_model_path),
                                    "--adapter", "stray-model"])
    assert bad.exit_code == 1 and "full model" in bad.output


def test_bench_adapters_json():
    result = run("bench", "adapters", "--json", "--chat-tokens", "300")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    for key in ("switch_back_first_token_s", "first_switch_first_token_s",
                "reload_first_token_s", "tokens_per_s_with_adapter",
                "tokens_per_s_without_adapter"):
        assert figures[key] > 0, key
    assert min(figures["chat_tokens"]) >= 300
    # Going back restores the chat's state: only the new question is read, not the chat.
    assert max(figures["switch_back_evaluated_tokens"]) < 60
    assert figures["first_switch_evaluated_tokens"] >= 300
    assert figures["restored_answer_equals_full_reading"] is True
