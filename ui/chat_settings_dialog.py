"""One chat's own settings: its system prompt, sampling, and which folders it may cite.

Left empty (or at "Default"), a setting follows the app's settings. The choice is stored with
the chat and applies from its next answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from assistant.core import ChatSettings, KnowledgeScope
from ui.message_widgets import label
from ui.qt import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QPlainTextEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    from assistant.config import GenerationSettings
    from assistant.core import ChatSession

SCOPES = ((KnowledgeScope.ALL, "All watched folders"),
          (KnowledgeScope.SOME, "Only the folders ticked below"),
          (KnowledgeScope.NONE, "None: answer without my documents"))


class ChatSettingsDialog(QDialog):
    """Edit ``session.settings``; ``saved`` carries the new settings."""

    saved = Signal(object)  # ChatSettings

    def __init__(self, session: ChatSession, defaults: GenerationSettings, folders: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("This chat's settings")
        current = session.settings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 14)
        layout.addWidget(label("Settings for “" + session.title + "”", "PanelTitle", wrap=True))
        layout.addWidget(label("Empty or “Default” follows the app's settings.", "Hint",
                               wrap=True))
        form = QFormLayout()
        self.system_prompt = QPlainTextEdit(current.system_prompt)
        self.system_prompt.setPlaceholderText(defaults.system_prompt)
        self.system_prompt.setMaximumHeight(90)
        form.addRow("System prompt", self.system_prompt)
        self.temperature = _decimal(0.0, 2.0, 0.05, current.temperature, defaults.temperature)
        form.addRow("Temperature", self.temperature)
        self.top_p = _decimal(0.05, 1.0, 0.05, current.top_p, defaults.top_p)
        form.addRow("Top-p", self.top_p)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(0, 32768)
        self.max_tokens.setSingleStep(64)
        self.max_tokens.setSpecialValueText(f"Default ({defaults.max_tokens})")
        self.max_tokens.setValue(current.max_tokens or 0)
        form.addRow("Longest answer (tokens)", self.max_tokens)
        layout.addLayout(form)
        layout.addWidget(label("KNOWLEDGE", "SectionLabel"))
        self.scope = QButtonGroup(self)
        for index, (scope, text) in enumerate(SCOPES):
            button = QRadioButton(text)
            button.setChecked(scope == current.knowledge)
            self.scope.addButton(button, index)
            layout.addWidget(button)
        self.folder_boxes: list[QCheckBox] = []
        ticks = QVBoxLayout()
        ticks.setContentsMargins(24, 0, 0, 0)  # under "Only the folders ticked below"
        layout.addLayout(ticks)
        for folder in folders:
            box = QCheckBox(Path(folder).name or folder)
            box.setToolTip(folder)
            box.setProperty("folder", folder)
            box.setChecked(folder in current.folders)
            self.folder_boxes.append(box)
            ticks.addWidget(box)
        if not folders:
            layout.addWidget(label("No folders are watched yet: add them in Knowledge.", "Hint",
                                   wrap=True))
        self.scope.idToggled.connect(lambda _id, _on: self._update())
        self._update()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        layout.addWidget(buttons)

    def chosen(self) -> ChatSettings:
        """The settings as filled in."""
        return ChatSettings(
            system_prompt=self.system_prompt.toPlainText().strip(),
            temperature=_value(self.temperature), top_p=_value(self.top_p),
            max_tokens=self.max_tokens.value() or None,
            knowledge=SCOPES[max(self.scope.checkedId(), 0)][0],
            folders=[str(b.property("folder")) for b in self.folder_boxes if b.isChecked()])

    def _update(self) -> None:
        some = SCOPES[max(self.scope.checkedId(), 0)][0] == KnowledgeScope.SOME
        for box in self.folder_boxes:
            box.setEnabled(some)

    def _save(self) -> None:
        self.saved.emit(self.chosen())
        self.accept()


def _decimal(low: float, high: float, step: float, value: float | None,
             default: float) -> QDoubleSpinBox:
    """A spin box whose lowest step reads "Default (x)" and means: follow the app."""
    box = QDoubleSpinBox()
    box.setRange(low - step, high)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setSpecialValueText(f"Default ({default:g})")
    box.setValue(value if value is not None else low - step)
    return box


def _value(box: QDoubleSpinBox) -> float | None:
    return None if box.value() == box.minimum() else round(box.value(), 2)
