"""The settings dialog: model, generation, memory and appearance, saved to the TOML file.

A model file is validated the moment it is picked (on a worker lane), and the engine's own
message says what is wrong with it; Save stays disabled until the file is usable.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ui.message_widgets import label
from ui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QIcon,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from ui.tasks import BackgroundOp
from ui.tray import tray_available

if TYPE_CHECKING:
    from assistant.config import Settings
    from ui.app import LoremindApp

MODEL_CHECK_DELAY_MS = 400  # a pause in typing before the model file is read


def _spin(low: int, high: int, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def _real(low: float, high: float, value: float, step: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setValue(value)
    return box


class SettingsDialog(QDialog):
    """Edit a copy of the settings; Save hands them to the app, which writes the file."""

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        s = app.settings
        tabs = QTabWidget()
        tabs.addTab(self._model_tab(s), "Model")
        tabs.addTab(self._generation_tab(s), "Answers")
        tabs.addTab(self._other_tab(s), "Memory && look")
        tabs.addTab(self._connections_tab(s), "Connections")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("Primary")
        for button in self.buttons.buttons():
            button.setIcon(QIcon())
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.addWidget(tabs)
        layout.addWidget(self.buttons)
        self._check_gpu()
        self.validate_model()

    # -- tabs ----------------------------------------------------------------------------------

    def _model_tab(self, s: Settings) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        form.setSpacing(10)
        row = QHBoxLayout()
        self.model_path = QLineEdit(s.model.path)
        self.model_path.setPlaceholderText("Built-in: SmolLM2-135M-Instruct (small, to try)")
        # checked as it is typed (a pause first: each check reads the file) and when left
        self.model_check = QTimer(self)
        self.model_check.setSingleShot(True)
        self.model_check.setInterval(MODEL_CHECK_DELAY_MS)
        self.model_check.timeout.connect(self.validate_model)
        self.model_path.textChanged.connect(self._model_path_edited)
        self.model_path.editingFinished.connect(self._model_path_left)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self.choose_model)
        row.addWidget(self.model_path, 1)
        row.addWidget(browse)
        form.addRow("Model file", row)
        self.model_status = label("", "Hint", wrap=True)
        form.addRow("", self.model_status)
        gpu = QHBoxLayout()
        self.gpu_auto = QCheckBox("Automatic")
        self.gpu_layers = _spin(0, 999, 0 if s.model.gpu_layers == "auto"
                                else int(s.model.gpu_layers))
        self.gpu_auto.toggled.connect(lambda on: self.gpu_layers.setEnabled(not on))
        self.gpu_auto.setChecked(s.model.gpu_layers == "auto")
        self.gpu_layers.setEnabled(s.model.gpu_layers != "auto")
        gpu.addWidget(self.gpu_auto)
        gpu.addWidget(self.gpu_layers)
        gpu.addStretch()
        form.addRow("GPU layers", gpu)
        self.gpu_status = label("", "Hint", wrap=True)
        form.addRow("", self.gpu_status)
        self.context_size = _spin(512, 262_144, s.model.context_size, 512)
        form.addRow("Context size (tokens)", self.context_size)
        self.threads = _spin(0, 256, s.model.threads)
        self.threads.setSpecialValueText("Automatic")
        form.addRow("CPU threads", self.threads)
        return tab

    def _generation_tab(self, s: Settings) -> QWidget:
        g = s.generation
        tab = QWidget()
        form = QFormLayout(tab)
        form.setSpacing(10)
        self.system_prompt = QPlainTextEdit(g.system_prompt)
        self.system_prompt.setMinimumHeight(90)
        form.addRow("System prompt", self.system_prompt)
        self.temperature = _real(0.0, 2.0, g.temperature, 0.05)
        self.top_p = _real(0.0, 1.0, g.top_p, 0.05)
        self.top_k = _spin(0, 1000, g.top_k)
        self.min_p = _real(0.0, 1.0, g.min_p, 0.01)
        self.repeat_penalty = _real(0.5, 2.0, g.repeat_penalty, 0.05)
        self.max_tokens = _spin(16, 32_768, g.max_tokens, 64)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Top-k", self.top_k)
        form.addRow("Min-p", self.min_p)
        form.addRow("Repeat penalty", self.repeat_penalty)
        form.addRow("Longest answer (tokens)", self.max_tokens)
        return tab

    def _other_tab(self, s: Settings) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        form.setSpacing(10)
        self.memory_mode = QComboBox()
        self.memory_mode.addItem("Ask me before remembering", "ask")
        self.memory_mode.addItem("Remember automatically", "auto")
        self.memory_mode.setCurrentIndex(self.memory_mode.findData(s.memory.mode))
        form.addRow("Proposed memories", self.memory_mode)
        self.appearance = QComboBox()
        for text, value in (("Follow the system", "system"), ("Light", "light"),
                            ("Dark", "dark")):
            self.appearance.addItem(text, value)
        self.appearance.setCurrentIndex(self.appearance.findData(s.ui.appearance))
        form.addRow("Appearance", self.appearance)
        self.close_to_tray = QCheckBox("Keep running in the tray when the window is closed")
        self.close_to_tray.setChecked(s.ui.close_to_tray)
        form.addRow("Closing the window", self.close_to_tray)
        if not tray_available():
            self.close_to_tray.setEnabled(False)
            form.addRow("", label("This desktop has no system tray: closing the window quits.",
                                  "Hint", wrap=True))
        return tab

    def _connections_tab(self, s: Settings) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        form.setSpacing(10)
        c = s.connect
        self.connect_enabled = QCheckBox("Let other apps use Loremind (MCP and an "
                                         "OpenAI-compatible API)")
        self.connect_enabled.setChecked(c.enabled)
        form.addRow("Other apps", self.connect_enabled)
        form.addRow("", label("Off by default. Each app needs its own token and gets only what "
                              "you allow it; every call is logged.", "Hint", wrap=True))
        self.connect_port = _spin(1, 65_535, c.port or 8765)
        form.addRow("Port", self.connect_port)
        self.connect_network = QCheckBox("Let other computers connect too (not only this one)")
        self.connect_network.setChecked(c.allow_network and c.host != "127.0.0.1")
        form.addRow("Network", self.connect_network)
        self.connect_knowledge = QCheckBox("Your documents (for apps allowed to search them)")
        self.connect_knowledge.setChecked(c.knowledge)
        self.connect_memory = QCheckBox("Your memories (for apps allowed to read them)")
        self.connect_memory.setChecked(c.memory)
        uses = QVBoxLayout()
        uses.addWidget(self.connect_knowledge)
        uses.addWidget(self.connect_memory)
        form.addRow("API answers use", uses)
        self.connect_address = label("", "Hint", wrap=True)
        self.connect_port.valueChanged.connect(lambda _v: self._show_address())
        self.connect_network.toggled.connect(lambda _on: self._show_address())
        self._show_address()
        form.addRow("", self.connect_address)
        apps = QPushButton("Apps, their permissions and log…")
        apps.clicked.connect(self.show_connections)
        form.addRow("", apps)
        return tab

    def _show_address(self) -> None:
        host = "0.0.0.0" if self.connect_network.isChecked() else "127.0.0.1"
        base = f"http://{host}:{self.connect_port.value()}"
        self.connect_address.setText(f"Apps connect to {base}/v1 (OpenAI-compatible) and "
                                     f"{base}/mcp (MCP); `loremind mcp` serves MCP over stdio.")

    def show_connections(self) -> None:
        """Open the list of apps, their permissions and their log."""
        from ui.connections_dialog import ConnectionsDialog

        self.connections_dialog = ConnectionsDialog(self.app, self)
        self.connections_dialog.open()

    # -- checks --------------------------------------------------------------------------------

    def choose_model(self) -> None:
        """Pick a GGUF file; it is validated at once."""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model", "",
                                              "GGUF models (*.gguf);;All files (*)")
        if path:
            self.model_path.setText(path)
            self.validate_model()

    def _model_path_edited(self, text: str) -> None:
        if not text.strip():
            self.validate_model()  # nothing to read: say so at once
            return
        self.model_status.setText("Checking the file…")
        self.save_button.setEnabled(False)
        self.model_check.start()

    def _model_path_left(self) -> None:
        if self.model_check.isActive():
            self.validate_model()

    def validate_model(self) -> None:
        """Read the chosen file's header off the main thread and say whether it can be used."""
        self.model_check.stop()
        path = self.model_path.text().strip()
        if not path:
            self.model_status.setText("The built-in demo model (SmolLM2-135M-Instruct) will be "
                                      "used.")
            self.save_button.setEnabled(True)
            return
        self.model_status.setText("Checking the file…")
        self.save_button.setEnabled(False)

        models = self.app.core.models

        def check() -> Any:
            return models.header(path)

        def valid(info: Any) -> None:
            if self.model_path.text().strip() != path:
                return
            context = f", trained for {info.context_length} tokens" if info.context_length else ""
            note = f"\n⚠ {info.template_note}" if info.template_note else ""
            self.model_status.setText(
                f"✓ {info.name or 'Model'} ({info.architecture}{context}){note}")
            self.save_button.setEnabled(True)

        def invalid(error: BaseException) -> None:
            if self.model_path.text().strip() == path:
                self.model_status.setText(f"✗ {error}")

        BackgroundOp(self, check, valid, invalid).run(self.app.tasks, "db")

    def _check_gpu(self) -> None:
        supported = self.app.core.models.gpu_offload_supported

        def show(ok: bool) -> None:
            self.gpu_status.setText(
                "This build of llama.cpp can offload layers to the GPU; Automatic puts as "
                "many there as fit." if ok else
                "This build of llama.cpp runs on the CPU only: GPU layers have no effect.")

        BackgroundOp(self, supported, show).run(self.app.tasks, "db")

    # -- saving --------------------------------------------------------------------------------

    def edited_settings(self) -> Settings:
        """The settings as the dialog shows them."""
        s = self.app.settings
        model = dataclasses.replace(
            s.model, path=self.model_path.text().strip(), context_size=self.context_size.value(),
            threads=self.threads.value(),
            gpu_layers="auto" if self.gpu_auto.isChecked() else self.gpu_layers.value())
        generation = dataclasses.replace(
            s.generation, system_prompt=self.system_prompt.toPlainText().strip(),
            temperature=self.temperature.value(), top_p=self.top_p.value(),
            top_k=self.top_k.value(), min_p=self.min_p.value(),
            repeat_penalty=self.repeat_penalty.value(), max_tokens=self.max_tokens.value())
        memory = dataclasses.replace(s.memory, mode=self.memory_mode.currentData())
        ui = dataclasses.replace(s.ui, appearance=self.appearance.currentData(),
                                 close_to_tray=self.close_to_tray.isChecked())
        network = self.connect_network.isChecked()
        connect = dataclasses.replace(
            s.connect, enabled=self.connect_enabled.isChecked(), port=self.connect_port.value(),
            host="0.0.0.0" if network else "127.0.0.1", allow_network=network,
            knowledge=self.connect_knowledge.isChecked(), memory=self.connect_memory.isChecked())
        return dataclasses.replace(s, model=model, generation=generation, memory=memory, ui=ui,
                                   connect=connect)

    def save(self) -> None:
        """Write the settings; the model reloads in the background if its settings changed."""
        settings = self.edited_settings()
        appearance_changed = settings.ui.appearance != self.app.settings.ui.appearance
        self.app.update_settings(settings)
        if appearance_changed:
            self.app.apply_theme(settings.ui.appearance)
        self.accept()
