"""The hostile-input generator against the real CLI, in child processes: exit 0 or one clean
error line, never a traceback, a signal or a hang.

CI runs every settings, model-file, adapter-folder and indexed-folder case, and every third
memory-file and argument case; ``python -m tests.reliability.run_all`` runs all of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.cases import (
    argument_cases,
    folder_cases,
    json_shape_cases,
    model_file_cases,
    settings_cases,
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
