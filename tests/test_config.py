"""Settings: defaults, round trip, and errors that name the key and the file."""

from __future__ import annotations

import pytest

from assistant.config import Settings, load_settings, save_settings
from assistant.errors import ConfigError
from assistant.paths import app_paths


def test_missing_file_gives_defaults(tmp_path):
    assert load_settings(tmp_path / "none.toml") == Settings()


def test_round_trip(tmp_path):
    settings = Settings()
    settings.model.gpu_layers = 12
    settings.knowledge.folders = ["/data/notes"]
    settings.generation.temperature = 0.2
    path = tmp_path / "config.toml"
    save_settings(settings, path)
    assert load_settings(path) == settings


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[model]\ncontext_size = 'big'\n", "model.context_size"),
        ("[model]\ngpu_layers = 'most'\n", "model.gpu_layers"),
        ("[memory]\nmode = 'always'\n", "memory.mode"),
        ("[knowledge]\nfolders = [1, 2]\n", "knowledge.folders"),
        ("[model]\ncolour = 'red'\n", "model.colour"),
    ],
)
def test_invalid_value_names_key_and_file(tmp_path, text, key):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert key in str(caught.value) and str(path) in str(caught.value)


def test_broken_toml(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[model\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_int_accepted_for_float(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[generation]\ntemperature = 1\n")
    assert load_settings(path).generation.temperature == 1.0


def test_loremind_home_relocates_everything(loremind_home):
    paths = app_paths()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        assert folder.is_relative_to(loremind_home)
