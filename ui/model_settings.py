"""The settings that belong to one model: context size, GPU layers and its system prompt."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from assistant.config import GpuLayers
from assistant.core import ModelProfile
from ui.message_widgets import label
from ui.model_downloads import model_manager
from ui.qt import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from ui.app import LoremindApp

AUTO_LAYERS = -1  # the spin box's lowest value, shown as "auto"


class ModelSettingsDialog(QDialog):
    """Edit one model's own settings; they apply whenever that model is put in use."""

    def __init__(self, app: LoremindApp, path: Path, title: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.path = path
        self.setWindowTitle(f"Settings for {title}")
        self.setMinimumWidth(440)
        manager = model_manager(app)
        profile = manager.profile(path)
        general = app.settings
        layout = QVBoxLayout(self)
        layout.addWidget(label("Empty or unchanged values follow the general settings.", "Hint",
                               wrap=True))
        form = QFormLayout()
        self.context = QSpinBox()
        self.context.setRange(512, 262144)
        self.context.setSingleStep(512)
        self.context.setValue(profile.context_size or general.model.context_size)
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(AUTO_LAYERS, 999)
        self.gpu_layers.setSpecialValueText("auto")
        layers = profile.gpu_layers if profile.gpu_layers is not None else general.model.gpu_layers
        self.gpu_layers.setValue(AUTO_LAYERS if layers == "auto" else int(layers))
        self.system_prompt = QPlainTextEdit(profile.system_prompt or
                                            general.generation.system_prompt)
        self.system_prompt.setMinimumHeight(90)
        form.addRow("Context size (tokens)", self.context)
        form.addRow("GPU layers", self.gpu_layers)
        form.addRow("System prompt", self.system_prompt)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def profile(self) -> ModelProfile:
        """What the dialog shows, as the model's own settings; a value equal to the general
        setting is left out, so that it keeps following the general settings."""
        general = self.app.settings
        value = self.gpu_layers.value()
        layers: GpuLayers = "auto" if value == AUTO_LAYERS else value
        prompt = self.system_prompt.toPlainText().strip()
        return ModelProfile(
            None if self.context.value() == general.model.context_size else self.context.value(),
            None if layers == general.model.gpu_layers else layers,
            None if prompt in ("", general.generation.system_prompt.strip()) else prompt)

    def accept(self) -> None:
        """Keep the settings for this model (applied now when it is the one in use)."""
        model_manager(self.app).set_profile(self.path, self.profile())
        super().accept()
