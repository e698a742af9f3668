"""The hostile-input generator against the real CLI, in child processes: exit 0 or one clean
error line, never a traceback, a signal or a hang.

CI runs every settings, model-file, adapter-folder, indexed-folder, stored-chat and server case,
every third memory-file and argument case and every fifth chat-file case;
``python -m tests.reliability.run_all`` runs all of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.remote_support import HostileServer
from tests.reliability.cases import (
    argument_cases,
    folder_cases,
    json_shape_cases,
    model_file_cases,
    settings_cases,
)
from tests.reliability.chat_cases import (
    chat_import_cases,
    damaged_chat_cases,
    listing_problems,
    stream_cases,
    stream_problems,
)
from tests.reliability.fixtures import (
    adapter_folder_cases,
    adapter_problems,
    folder_problems,
    make_models,
)
from tests.reliability.runner import Case, Outcome, run_cases


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    return make_models(tmp_path_factory.mktemp("hostile-models"))


def _assert_clean(outcomes: list[Outcome], cases: list[Case]) -> None:
    assert len(outcomes) == len(cases)
    problems = [f"{o.id}: {o.problem} | {o.stderr.strip()[-300:]}" for o in outcomes if o.problem]
    assert problems == []


def test_malformed_memory_files_and_settings(tmp_path):
    cases = json_shape_cases(tmp_path / "json")[::3] + settings_cases()
    assert len(cases) > 250
    _assert_clean(run_cases(cases, tmp_path / "homes"), cases)


def test_special_and_broken_model_files(tmp_path, models):
    tiny, adapter = models
    cases = model_file_cases(tmp_path / "m", tiny, adapter)
    _assert_clean(run_cases(cases, tmp_path / "homes"), cases)


def test_hostile_adapter_folder_lists_as_valid_json(tmp_path, models):
    cases, expected = adapter_folder_cases(tmp_path / "adapters", models[0], "adapters")
    outcomes = run_cases(cases, tmp_path / "homes")
    _assert_clean(outcomes, cases)
    assert adapter_problems(outcomes[-1], expected) == []


@pytest.mark.slow
def test_hostile_names_encodings_and_special_documents(tmp_path):
    cases, expected = folder_cases(tmp_path / "folder", "folder")
    outcomes = run_cases(cases, tmp_path / "homes")
    _assert_clean(outcomes, cases)
    assert folder_problems(outcomes[-1], expected) == []
    assert ": 0 added, 0 updated" in outcomes[1].stdout, "a second run changes nothing"


@pytest.mark.slow
def test_hostile_arguments(tmp_path):
    cases = argument_cases(tmp_path / "args")[::3]
    _assert_clean(run_cases(cases, tmp_path / "homes"), cases)


def test_malformed_chat_files_are_stored_whole_or_not_at_all(tmp_path):
    every = chat_import_cases(tmp_path / "chats", "chats")
    cases = every[:-1][::5] + every[-1:]  # and the listing at the end
    outcomes = run_cases(cases, tmp_path / "homes")
    _assert_clean(outcomes, cases)
    assert listing_problems(outcomes[-1]) == []


def test_chats_stored_malformed_are_shown_exported_and_continued(tmp_path):
    cases = damaged_chat_cases(tmp_path / "homes", "damaged", tmp_path / "exports")
    _assert_clean(run_cases(cases, tmp_path / "homes"), cases)


@pytest.mark.timeout(900)
def test_servers_that_never_finish_end_at_their_limits(tmp_path):
    servers = [HostileServer(b) for b in HostileServer.BEHAVIOURS]
    try:
        cases = stream_cases({s.behaviour: s.url for s in servers})
        outcomes = run_cases(cases, tmp_path / "homes")
    finally:
        for server in servers:
            server.stop()
    _assert_clean(outcomes, cases)
    assert stream_problems(outcomes) == []
