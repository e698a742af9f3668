"""``loremind adapters train|card|delete`` on the tiny model, and bad input in a terminal."""

from __future__ import annotations

import json

from click.testing import CliRunner

from assistant.cli import main
from assistant.paths import app_paths


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def pairs(tmp_path, n=12):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"the cat {i}", "response": "hello world"})
                            + "\n" for i in range(n)), encoding="utf-8")
    return path


def test_train_then_read_the_card_then_delete(tmp_path, tiny_model_path):
    result = run("adapters", "train", "style", "--pairs", str(pairs(tmp_path)), "--steps", "4",
                 "--rank", "2", "--lr", "0.01", "--model", str(tiny_model_path), "--json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert events[0]["event"] == "preview" and events[0]["counts"]["examples"] == 12
    assert [e["step"] for e in events if e["event"] == "step"] == [1, 2, 3, 4]
    card = events[-1]
    assert card["event"] == "card" and card["card"]["settings"]["rank"] == 2
    folder = app_paths().adapters_dir
    assert card["path"] == str(folder / "style.gguf")
    shown = run("adapters", "card", "style", "--json")
    assert shown.exit_code == 0 and json.loads(shown.output) == card["card"]
    text = run("adapters", "card", "style").output
    assert "held-out loss (llama.cpp)" in text and "pairs.jsonl (12 examples" in text
    assert run("adapters", "delete", "style", "--yes").exit_code == 0
    assert list(folder.iterdir()) == []


def test_bad_input_gives_a_message_and_exit_status_1(tmp_path, tiny_model_path):
    model = ("--model", str(tiny_model_path))
    both = run("adapters", "train", "x", "--pairs", str(pairs(tmp_path)), "--from-chats", *model)
    assert both.exit_code == 1 and "Choose one kind of data" in both.output
    tiny = run("adapters", "train", "x", "--pairs", str(pairs(tmp_path, 2)), *model)
    assert tiny.exit_code == 1 and "Too little data: 2 example(s)" in tiny.output
    no_card = run("adapters", "card", "nothing")
    assert no_card.exit_code == 1 and "No adapter called 'nothing'" in no_card.output
    assert not app_paths().adapters_dir.exists() or not any(app_paths().adapters_dir.iterdir())
