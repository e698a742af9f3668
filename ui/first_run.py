"""The first-run screen: the built-in model is a small demo; here is a real one for this computer.

Shown once, on the first launch that runs the embedded demo model (``ui.first_run_shown`` in the
settings remembers it). It offers the recommended download, a GGUF file the user already has,
or the whole catalogue on the Models page.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core import CatalogueEntry, InstalledModel, Machine, gigabytes, uses_embedded_demo
from assistant.core import DownloadProgress as Progress
from ui.message_widgets import label
from ui.model_downloads import import_model, model_downloads, model_manager, use_model
from ui.qt import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from ui.app import LoremindApp

DEMO_TEXT = (
    "Loremind is running its built-in demo model, SmolLM2-135M. It is tiny (135 million "
    "parameters): it shows that everything works, but its answers are often wrong, even about "
    "the documents it cites. For real use, choose a proper model. It runs on this computer, "
    "privately; downloading it is the only time Loremind goes online.")


def should_show_first_run(app: LoremindApp) -> bool:
    """On the demo model, and never shown before."""
    return uses_embedded_demo(app.settings) and not app.settings.ui.first_run_shown


def maybe_show_first_run(app: LoremindApp, parent: QWidget | None = None,
                         open_models: Any = None) -> FirstRunDialog | None:
    """Show the first-run screen when it is due (non-blocking); returns it, or None."""
    if not should_show_first_run(app):
        return None
    dialog = FirstRunDialog(app, parent, open_models)
    dialog.open()
    return dialog


class FirstRunDialog(QDialog):
    """Explain the demo model and lead to a real one."""

    def __init__(self, app: LoremindApp, parent: QWidget | None = None,
                 open_models: Any = None) -> None:
        super().__init__(parent)
        self.app = app
        self.open_models = open_models
        self.downloads = model_downloads(app)
        self.entry: CatalogueEntry | None = None
        self.setWindowTitle("Welcome to Loremind")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(12)
        # Always exactly as tall as what it shows (progress rows come and go, wrapped text
        # arrives late); and with no size of its own to drag, window managers draw no resize
        # handle, the stray line under the buttons.
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetFixedSize)
        layout.addWidget(label("Choose a real model", "EmptyTitle"))
        layout.addWidget(label(DEMO_TEXT, "", wrap=True))
        card = QFrame()
        card.setObjectName("Card")
        inner = QVBoxLayout(card)
        inner.setContentsMargins(14, 12, 14, 12)
        self.heading = label("Recommended for this computer", "SectionLabel")
        self.title = label("Looking at this computer…", "SourceTitle", wrap=True)
        self.facts = label("", "Count", wrap=True)
        self.summary = label("", "Hint", wrap=True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.progress_text = label("", "Hint", wrap=True)
        for widget in (self.heading, self.title, self.facts, self.summary, self.progress,
                       self.progress_text):
            inner.addWidget(widget)
        row = QHBoxLayout()
        self.download = QPushButton("Download and use it")
        self.download.setObjectName("Primary")
        self.download.setEnabled(False)
        self.download.clicked.connect(self.start_download)
        self.cancel = QPushButton("Cancel download")
        self.cancel.clicked.connect(self.cancel_download)
        row.addWidget(self.download)
        row.addWidget(self.cancel)
        row.addStretch()
        inner.addLayout(row)
        layout.addWidget(card)
        others = QHBoxLayout()
        self.choose_file = QPushButton("Choose a GGUF file I already have…")
        self.choose_file.clicked.connect(self.choose_gguf)
        self.browse = QPushButton("See all models")
        self.browse.clicked.connect(self.show_all)
        self.later = QPushButton("Keep the demo for now")
        self.later.clicked.connect(self.reject)
        # The harmless choice has the focus: a question typed before the dialog was seen
        # (a space, Enter) must not open a file picker or start a 2 GB download.
        self.later.setDefault(True)
        others.addWidget(self.choose_file)
        others.addWidget(self.browse)
        others.addStretch()
        others.addWidget(self.later)
        layout.addLayout(others)
        self._show_downloading(False)
        self.later.setFocus()
        self.downloads.progressed.connect(self._progressed)
        self.downloads.finished.connect(self._finished)
        self.downloads.failed.connect(lambda name, _e: self._ended(name))
        self._remember_shown()
        manager = model_manager(app)
        BackgroundOp(self, lambda: (manager.recommended(), manager.machine()),
                     self._recommend).run(app.tasks, "db")

    def _remember_shown(self) -> None:
        settings = copy.deepcopy(self.app.settings)
        settings.ui.first_run_shown = True
        self.app.update_settings(settings)

    def _recommend(self, found: tuple[CatalogueEntry | None, Machine]) -> None:
        entry, machine = found
        self.entry = entry
        if entry is None:
            self.title.setText("No catalogue model fits this computer's "
                               f"{gigabytes(machine.ram_bytes)} of RAM.")
            self.facts.setText("Choose a small GGUF file you already have instead.")
            return
        self.title.setText(entry.title)
        self.facts.setText(f"{entry.params_label} parameters · {gigabytes(entry.size_bytes)} "
                           f"download · {entry.license} licence · fits this computer "
                           f"({gigabytes(machine.ram_bytes)} RAM)")
        self.summary.setText(entry.summary)
        self.download.setEnabled(True)
        if self.downloads.is_active(entry.name):
            self._show_downloading(True)

    # -- the recommended download --------------------------------------------------------------

    def start_download(self) -> None:
        """Download the recommended model and put it in use when it is ready."""
        if self.entry is None:
            return
        self.downloads.start(self.entry.name, use_when_done=True)
        self._show_downloading(True)

    def cancel_download(self) -> None:
        """Stop the download (it resumes from where it stopped next time)."""
        if self.entry is not None:
            self.downloads.cancel(self.entry.name)

    def _show_downloading(self, downloading: bool) -> None:
        self.download.setVisible(not downloading)
        self.cancel.setVisible(downloading)
        self.progress.setVisible(downloading)
        self.progress_text.setVisible(downloading)
        if downloading:
            self.progress.setRange(0, 0)
            self.progress_text.setText("Connecting…")

    def _progressed(self, name: str, progress: Progress) -> None:
        if self.entry is None or name != self.entry.name:
            return
        if progress.fraction is not None and progress.phase == "downloading":
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(progress.fraction * 1000))
        else:
            self.progress.setRange(0, 0)
        self.progress_text.setText(progress.describe())

    def _finished(self, name: str, installed: InstalledModel | None) -> None:
        if self.entry is None or name != self.entry.name:
            return
        if installed is None:
            self._ended(name)
            self.download.setText("Resume the download")
            return
        self.accept()  # the model is put in use by the download itself

    def _ended(self, name: str) -> None:
        if self.entry is not None and name == self.entry.name:
            self._show_downloading(False)

    # -- the other ways ------------------------------------------------------------------------

    def choose_gguf(self) -> None:
        """Pick a GGUF file on disk, add it to the models and use it."""
        path, _filter = QFileDialog.getOpenFileName(self, "Choose a GGUF model file",
                                                    str(Path.home()), "GGUF models (*.gguf)")
        if path:
            self.use_file(Path(path))

    def use_file(self, path: Path) -> None:
        """Import ``path`` (checked on the db lane) and answer with it; closes the screen. A
        file without a chat template is used only if the user still wants it once told."""

        def imported(model: InstalledModel) -> None:
            use_model(self.app, model.path)
            self.accept()

        import_model(self.app, self, path, imported)

    def show_all(self) -> None:
        """Close this screen and open the Models page."""
        self.accept()
        if self.open_models is not None:
            self.open_models()
