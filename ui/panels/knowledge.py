"""The knowledge panel: watched folders, what each holds, live indexing progress, failed files."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    from assistant.knowledge.overview import FolderOverview
    from ui.app import LoremindApp


class IndexingCancelled(Exception):
    """Raised from the progress callback to stop a sync (the indexer is crash-safe)."""


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
        self.progress_label.hide()
        self.progress.hide()
        self.body.addWidget(self.progress_label)
        self.body.addWidget(self.progress)
        self.body.addWidget(label("NOT INDEXED", "SectionLabel"))
        self.problems = QListWidget()
        self.problems.setWordWrap(True)
        self.body.addWidget(self.problems, 1)
        app.knowledge_changed.connect(self.refresh)

    # -- reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the per-folder counts and the failed files (db lane)."""
        assistant = self.app.assistant
        if assistant is None:
            return
        from assistant.knowledge.overview import folder_overviews

        folders = list(self.app.settings.knowledge.folders)
        BackgroundOp(self, lambda: folder_overviews(assistant.store, folders),
                     self._show).run(self.app.tasks, "db")

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
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder to watch")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        """Watch ``folder`` (saved in the settings) and index it now."""
        folder = str(Path(folder).expanduser().resolve())
        folders = self.app.settings.knowledge.folders
        if folder not in folders:
            self._save_folders([*folders, folder])
        self.index_folder(folder)

    def remove_folder(self, folder: str) -> None:
        """Stop watching ``folder`` and drop its documents from the index."""
        assistant = self.app.assistant
        if assistant is None:
            return
        self._save_folders([f for f in self.app.settings.knowledge.folders if f != folder])

        def remove() -> None:
            from assistant.knowledge import Indexer

            Indexer(assistant.store, assistant.embedder).remove_folder(Path(folder))

        BackgroundOp(self, remove, lambda _r: self._indexing_done()).run(self.app.tasks, "index")

    def index_folder(self, folder: str) -> None:
        """Bring the index in line with ``folder`` on the index lane, showing progress."""
        assistant = self.app.assistant
        if assistant is None:
            return
        from assistant.knowledge import Indexer

        cancel = threading.Event()
        self.app.tasks.track(cancel)
        self._cancel = cancel
        settings = self.app.settings.knowledge
        self._show_progress(f"Indexing {Path(folder).name}…", 0, 0)

        def progress(report: Any) -> None:
            if cancel.is_set():
                raise IndexingCancelled
            self.app.tasks.post(lambda: self._show_progress(
                f"Indexing {Path(folder).name}: {report.files_done}/{report.files_total} files"
                f" · {report.chunks_done} chunks · {report.chunks_per_s:.0f}/s",
                report.files_done, report.files_total))

        def sync() -> Any:
            return Indexer(assistant.store, assistant.embedder, settings).sync(Path(folder),
                                                                               progress)

        def failed(error: BaseException) -> None:
            self._indexing_done()
            if not isinstance(error, IndexingCancelled):
                from ui.errors import show_error

                show_error(self, error)

        def done(_report: Any) -> None:
            self.app.tasks.untrack(cancel)
            self._indexing_done()
            self.indexed.emit(folder)
            self.app.restart_watcher()

        BackgroundOp(self, sync, done, failed).run(self.app.tasks, "index")

    def stop_indexing(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def _save_folders(self, folders: list[str]) -> None:
        settings = self.app.settings
        knowledge = dataclasses.replace(settings.knowledge, folders=folders)
        self.app.update_settings(dataclasses.replace(settings, knowledge=knowledge))

    def _show_progress(self, text: str, done: int, total: int) -> None:
        self.app.indexing_progress.emit(text)
        self.progress_label.setText(text)
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress_label.show()
        self.progress.show()

    def _indexing_done(self) -> None:
        if not self.app.tasks.is_busy("index"):
            self.app.indexing_progress.emit("")
            self.progress_label.hide()
            self.progress.hide()
        self.app.knowledge_changed.emit()  # refreshes this panel too
