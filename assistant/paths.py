"""Where Loremind keeps its files: platform folders, or one folder under ``LOREMIND_HOME``.

Tests and portable installs set ``LOREMIND_HOME`` so that nothing touches the real home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from assistant.errors import ConfigError

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
        """Create the folders if they are missing and return self.

        A log folder that cannot be made is no error: logging then falls back to stderr.
        """
        for folder in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                if folder == self.log_dir:
                    continue
                raise ConfigError(
                    f"Cannot create the folder {folder}: {exc.strerror or exc}. Check its "
                    f"permissions and free space, or set {HOME_ENV} to a writable folder."
                ) from exc
        return self


def app_paths() -> AppPaths:
    """Resolve the folders now, honouring ``LOREMIND_HOME`` when it is set."""
    home = os.environ.get(HOME_ENV)
    if home and any(ord(c) < 32 or c == "\x7f" for c in home):
        # LanceDB reads its folder as a URI: a line break or tab in it cannot be opened.
        raise ConfigError(f"{HOME_ENV} ({home!r}) contains a line break or another control "
                          "character; set it to a folder path without them.")
    if home:
        root = Path(home).expanduser().resolve()
        return AppPaths(root / "config", root / "data", root / "cache", root / "logs")
    return AppPaths(
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
