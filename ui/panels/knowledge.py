"""The knowledge panel: watched folders, what each holds, live indexing progress, failed files."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.core import indexing_text
from ui import theme
from ui.message_widgets import label, tool_button
from ui.panels.base import Panel, scrolling
from ui.qt import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from assistant.core import FolderOverview, Progress, SyncReport
    from ui.app import LoremindApp


class FolderCard(QFrame):
    """One watched folder with its counts and its buttons."""

    def __init__(self, overview: FolderOverview, panel: KnowledgePanel) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.folder = overview.folder
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 8, 10)
        layout.setSpacing(4)
        top = QHBoxLayout()
        icon = label("")
        icon.setPixmap(theme.icon("folder", "accent", 18).pixmap(18, 18))
        top.addWidget(icon)
        top.addWidget(label(Path(overview.folder).name or overview.folder, "SourceTitle"), 1)
        self.reindex_button = tool_button("refresh", "Re-index this folder now")
        self.reindex_button.clicked.connect(lambda: panel.index_folder(self.folder))
        self.remove_button = tool_button("trash", "Stop watching this folder")
        self.remove_button.clicked.connect(lambda: panel.remove_folder(self.folder))
        top.addWidget(self.reindex_button)
        top.addWidget(self.remove_button)
        layout.addLayout(top)
        layout.addWidget(label(overview.folder, "Hint", wrap=True))
        counts = QHBoxLayout()
        counts.addWidget(label(f"{overview.indexed} indexed", "CountIndexed"))
        counts.addWidget(label(f"{overview.skipped} skipped", "Count"))
        counts.addWidget(label(f"{overview.failed} failed",
                               "CountFailed" if overview.failed else "Count"))
        counts.addStretch()
        layout.addLayout(counts)


class KnowledgePanel(Panel):
    """Add and remove watched folders; index them on the ``index`` lane with live progress."""

    indexed = Signal(str)  # a folder finished indexing
    areas = ("knowledge",)

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(app, "Knowledge", "Folders whose documents the assistant may cite. "
                         "They are watched: changes are indexed as they happen.", parent)
        self.cards: list[FolderCard] = []
        self._cancel: threading.Event | None = None
        self.add_button = QPushButton(theme.icon("plus", "accent_text", 16), "Add folder…")
        self.add_button.setObjectName("Primary")
        self.add_button.clicked.connect(self.choose_folder)
        self.body.addWidget(self.add_button)
        inner = QWidget()
        self.folders = QVBoxLayout(inner)
        self.folders.setContentsMargins(0, 0, 0, 0)
        self.folders.setSpacing(8)
        self.folders.addStretch()
        self.body.addWidget(scrolling(inner), 2)
        self.progress_label = label("", "Count", wrap=True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton(theme.icon("stop", "muted", 16), "Stop indexing")
        self.cancel_button.setToolTip("Stop now: what is indexed is kept, the rest is indexed "
                                      "next time")
        self.cancel_button.clicked.connect(self.stop_indexing)
        self.progress_label.hide()
        self.progress.hide()
        self.cancel_button.hide()
        self.body.addWidget(self.progress_label)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.body.addLayout(progress_row)
        self.body.addWidget(label("NOT INDEXED", "SectionLabel"))
        self.problems = QListWidget()
        self.problems.setWordWrap(True)
        self.body.addWidget(self.problems, 1)

    # -- reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the per-folder counts and the failed files (db lane)."""
        if not self.app.is_ready:
            return
        BackgroundOp(self, self.app.core.knowledge.overview, self._show).run(self.app.tasks, "db")

    def _show(self, overviews: list[FolderOverview]) -> None:
        for card in self.cards:
            card.setParent(None)
            card.deleteLater()
        self.cards = [FolderCard(o, self) for o in overviews]
        for card in self.cards:
            self.folders.insertWidget(self.folders.count() - 1, card)
        self.problems.clear()
        for overview in overviews:
            for path, status, reason in overview.problems:
                self.problems.addItem(f"{Path(path).name} — {status}: {reason}")
        if not self.problems.count():
            self.problems.addItem("Every file was indexed.")

    # -- changing ------------------------------------------------------------------------------

    def choose_folder(self) -> None:
        """Ask for a folder to watch."""
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder to watch",
                                                  str(Path.home()))
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        """Watch ``folder`` (saved in the settings) and index it now."""
        folder = str(Path(folder).expanduser().resolve())
        knowledge = self.app.core.knowledge
        BackgroundOp(self, lambda: knowledge.add_folder(folder),
                     lambda _change: self.index_folder(folder)).run(self.app.tasks, "db")

    def remove_folder(self, folder: str) -> None:
        """Stop watching ``folder`` and drop its documents from the index."""
        if not self.app.is_ready:
            return
        knowledge = self.app.core.knowledge
        BackgroundOp(self, lambda: knowledge.remove_folder(folder)).run(self.app.tasks, "index")

    def index_folder(self, folder: str) -> None:
        """Bring the index in line with ``folder`` on the index lane, showing progress."""
        if not self.app.is_ready:
            return
        knowledge = self.app.core.knowledge
        cancel = threading.Event()
        self.app.tasks.track(cancel)
        self._cancel = cancel
        self._show_progress(f"Indexing {Path(folder).name}…", 0, 0)

        def progress(report: Progress) -> None:
            self.app.tasks.post(lambda: self._show_progress(
                indexing_text(Path(folder).name, report), report.files_done,
                report.files_total))

        def failed(error: BaseException) -> None:
            self.app.tasks.untrack(cancel)
            self._indexing_done()
            from ui.errors import show_error

            show_error(self, error)

        def done(report: SyncReport) -> None:
            self.app.tasks.untrack(cancel)
            self._indexing_done()
            if report.cancelled:
                self.app.status.emit(f"Indexing of {Path(folder).name} stopped: what was "
                                     "indexed is kept; the rest follows next time.", False)
            self.indexed.emit(folder)

        BackgroundOp(self, lambda: knowledge.index(folder, progress, cancel), done,
                     failed).run(self.app.tasks, "index")

    def stop_indexing(self) -> None:
        """Stop the sync in progress after the file in hand (what is done is kept)."""
        if self._cancel is not None:
            self._cancel.set()

    def _show_progress(self, text: str, done: int, total: int) -> None:
        self.app.indexing_progress.emit(text)
        self.progress_label.setText(text)
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress_label.show()
        self.progress.show()
        self.cancel_button.show()

    def _indexing_done(self) -> None:
        if not self.app.tasks.is_busy("index"):
            self.app.indexing_progress.emit("")
            self.progress_label.hide()
            self.progress.hide()
            self.cancel_button.hide()
