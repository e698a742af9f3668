"""What a user types: arguments that are not UTF-8, paths to write to, the settings file.

Issue 26: bytes like ``\\xff`` in ``memory add`` reached the tokenizer and ended in a
``TypeError``; ``memory export`` to a folder, a missing folder or ``/proc`` ended in
tracebacks; a deeply nested ``config.toml`` in ``RecursionError``; a 10 MB model path was
accepted silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.config import load_settings
from assistant.errors import ConfigError, UserFileError
from assistant.user_files import write_user_file


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def one_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                      SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


# Python hands bytes that are not UTF-8 over as lone surrogates ("\xff" becomes "\udcff").
NOT_UTF8 = os.fsdecode(b"caf\xe9 au lait")


@pytest.mark.parametrize("args", [
    ["memory", "add", NOT_UTF8], ["search", NOT_UTF8], ["sessions", "search", NOT_UTF8],
    ["memory", "list", "--search", NOT_UTF8], ["memory", "forget", NOT_UTF8],
    ["sessions", "show", NOT_UTF8], ["memory", "add", "half \ud800 pair"],
])
def test_arguments_that_are_not_utf8_are_refused(args):
    line = one_error(run(*args))
    assert "is not valid UTF-8 text" in line
    assert "'caf\\xe9 au lait'" in line or "\\ud800" in line


def test_nothing_is_remembered_from_a_refused_argument():
    one_error(run("memory", "add", NOT_UTF8))
    assert json.loads(run("memory", "list", "--json").stdout) == []


def test_a_path_argument_may_have_any_bytes(tmp_path):
    target = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9.json")))
    result = run("memory", "export", str(target))
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["memories"] == []


@pytest.mark.parametrize("where, problem", [
    ("{tmp}", "is a folder; give a file name inside it"),
    ("{tmp}/missing/memories.json", "The folder {tmp}/missing does not exist"),
    ("{tmp}/file.txt/memories.json", "The folder {tmp}/file.txt is not a folder"),
    ("/dev/null", "is not a regular file"),
    ("/proc/loremind-memories.json", "Could not write /proc/loremind-memories.json"),
    ("/proc/version", "Could not write /proc/version"),
])
def test_exports_check_the_path_before_writing(tmp_path, where, problem):
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    (tmp_path / "file.txt").write_text("a file, not a folder")
    path = where.format(tmp=tmp_path)
    for args in (["memory", "export", path], ["sessions", "export", "nope", path]):
        line = one_error(run(*args))
        if args[0] == "memory":
            assert problem.format(tmp=tmp_path) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_a_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path, monkeypatch):
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    target = tmp_path / "memories.json"
    target.write_text("the earlier export")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)  # a full disk cannot be made on demand
    with pytest.raises(UserFileError, match="No space left on device. Nothing was written"):
        write_user_file(target, "the new export")
    assert target.read_text() == "the earlier export"
    assert [p.name for p in tmp_path.iterdir()] == ["memories.json"]


@pytest.mark.parametrize("toml, problem", [
    ("a = " + "[" * 100_000 + "]" * 100_000, "more than 16 levels deep"),
    ("a = " + "{b = " * 2000 + "1" + "}" * 2000, "more than 16 levels deep"),
    ("[knowledge]\nfolders = [" + "[" * 40 + "]" * 40 + "]", "more than 16 levels deep"),
    ('[model]\npath = "' + "m" * 2_000_000 + '"', "larger than 1 MB"),
    ('[model]\npath = "' + "m" * 5000 + '"', "'model.path' .* 5,000 characters long"),
    ('[model]\npath = "a\\u0000b.gguf"', "'model.path' .* holds a NUL"),
    ("[knowledge]\nfolders = [" + ", ".join(['"x"'] * 1001) + "]", "lists 1001 items"),
    ('[generation]\nsystem_prompt = "' + "p" * 100_001 + '"', "at most 100,000 fit"),
])
def test_the_settings_file_has_size_depth_and_length_limits(tmp_path, toml, problem):
    config = tmp_path / "config.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match=problem):
        load_settings(config)


def test_a_settings_fifo_is_refused_not_read(tmp_path):
    config = tmp_path / "config.toml"
    os.mkfifo(config)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_settings(config)


def test_a_long_system_prompt_still_loads(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[generation]\nsystem_prompt = "' + "p" * 50_000 + '"\n')
    assert len(load_settings(config).generation.system_prompt) == 50_000
