"""Where Loremind keeps its files: platform folders, or one folder under ``LOREMIND_HOME``.

Tests and portable installs set ``LOREMIND_HOME`` so that nothing touches the real home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "loremind"
HOME_ENV = "LOREMIND_HOME"


@dataclass(frozen=True)
class AppPaths:
    """The four folders the app writes to."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database_dir(self) -> Path:
        return self.data_dir / "db"

    @property
    def adapters_dir(self) -> Path:
        return self.data_dir / "adapters"

    @property
    def models_dir(self) -> Path:
        """Where downloaded and imported GGUF chat models live."""
        return self.data_dir / "models"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "loremind.log"

    def ensure(self) -> AppPaths:
        """Create the folders if they are missing and return self."""
        for folder in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def app_paths() -> AppPaths:
    """Resolve the folders now, honouring ``LOREMIND_HOME`` when it is set."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        return AppPaths(root / "config", root / "data", root / "cache", root / "logs")
    return AppPaths(
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
