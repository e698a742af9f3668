"""The settings area: the settings in force, saved to the config file and announced."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.config import Settings, save_settings
from assistant.core.changes import Area, Change

if TYPE_CHECKING:
    from assistant.core.app import Loremind


class SettingsArea:
    """Reading and changing the settings; the core's parts follow them."""

    def __init__(self, core: Loremind) -> None:
        self._core = core

    @property
    def current(self) -> Settings:
        """The settings in force."""
        return self._core.current_settings

    def update(self, settings: Settings) -> Change:
        """Save ``settings`` and make them the ones in force. The change's action says what
        must follow: ``"model"`` when the model's settings changed (call ``models.reload``)."""
        old = self.current
        save_settings(settings, self._core.paths.config_file)
        self._core.adopt_settings(settings)
        if settings.knowledge != old.knowledge:
            self._core.knowledge.settings_changed()
        model_changed = settings.model != old.model
        return self._core.changes.publish(
            Change(Area.SETTINGS, "model" if model_changed else "saved"))
