"""The knowledge panel: watched folders, what each holds, live indexing progress, failed files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ui import theme
from ui.confirm import confirmed
from ui.message_widgets import label, tool_button
from ui.panels.base import Panel, scrolling, wrapping_list
from ui.qt import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from assistant.core import FolderOverview, Job
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
        icon.setPixmap(theme.icon("folder", "accent").pixmap(18, 18))
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
        if overview.pending:
            counts.addWidget(label(f"{overview.pending} not indexed yet", "Count"))
        counts.addStretch()
        layout.addLayout(counts)


class KnowledgePanel(Panel):
    """Add and remove watched folders; index them on the ``index`` lane with live progress."""

    indexed = Signal(str)  # a folder finished indexing
    undoable = Signal(str, object)  # what was just done, and the function that undoes it
    areas = ("knowledge",)

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(app, "Knowledge", "Folders whose documents the assistant may cite. "
                         "They are watched: changes are indexed as they happen.", parent)
        self.cards: list[FolderCard] = []
        self._overviews: list[FolderOverview] = []
        self._busy: set[str] = set()  # folders with a sync queued or running, as last shown
        self.add_button = QPushButton(theme.icon("plus", "accent_text"), "Add folder…")
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
        self.cancel_button = QPushButton(theme.icon("stop", "muted"), "Stop indexing")
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
        self.problems = wrapping_list()  # a reason quotes a whole path: rows wrap
        self.problems.setWordWrap(True)
        self.body.addWidget(self.problems, 1)
        app.job_changed.connect(self._job_changed)

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
        self._overviews = overviews
        self.cards = [FolderCard(o, self) for o in overviews]
        for card in self.cards:
            self.folders.insertWidget(self.folders.count() - 1, card)
        self._show_indexing_state()

    def _show_indexing_state(self) -> None:
        """What waits and what could not be indexed, as of the syncs queued or running now; a
        folder being indexed cannot be re-indexed until its sync ends."""
        from assistant.core import plural

        busy = self._busy = (self.app.core.knowledge.indexing_folders() if self.app.is_ready
                             else set())
        for card in self.cards:
            card.reindex_button.setEnabled(card.folder not in busy and "*" not in busy)
        self.problems.clear()
        for overview in self._overviews:
            if overview.pending:
                files = plural(overview.pending, "file")
                name = Path(overview.folder).name or overview.folder
                self.problems.addItem(
                    f"{files} of {name} waiting to be indexed" if overview.folder in busy else
                    f"{files} of {name} not indexed yet (indexing was stopped): re-index the "
                    "folder, or they follow at its next sync.")
        for overview in self._overviews:
            for path, status, reason in overview.problems:
                self.problems.addItem(f"{Path(path).name} — {status}: {reason}")
        if self.problems.count():
            return
        if not self._overviews:
            self.problems.addItem("No folders yet: add one, and any file that cannot be indexed "
                                  "is listed here.")
        elif busy:
            self.problems.addItem("Indexing… any file that cannot be indexed is listed here.")
        else:
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
        """Ask, then stop watching ``folder``: its sync stops within a second and its
        documents leave the index (the files themselves are untouched); undo re-adds it."""
        if not self.app.is_ready:
            return
        name = Path(folder).name or folder
        if not confirmed(self, "Remove this folder?",
                         f"Stop watching “{name}”? Its documents leave the index, so answers "
                         "no longer cite them. The files in the folder are not touched."):
            return
        knowledge = self.app.core.knowledge

        def removed(_change: object) -> None:
            self.app.status.emit(f"Removed “{name}” from Knowledge; its files are untouched.",
                                 False)
            self.undoable.emit(f"Removed “{name}” from Knowledge",
                               lambda: self.add_folder(folder))

        BackgroundOp(self, lambda: knowledge.remove_folder(folder), removed).run(
            self.app.tasks, "db")

    def index_folder(self, folder: str) -> None:
        """Bring the index in line with ``folder`` in the background, showing progress."""
        if not self.app.is_ready:
            return
        knowledge = self.app.core.knowledge
        name = Path(folder).name or folder

        def started(job: Job) -> None:
            self.app.status.emit(f"Indexing {name}…", True)
            job.future.add_done_callback(
                lambda _f: self.app.tasks.post(lambda: self._indexed(folder, job)))
            self._show_indexing_state()

        def refused(error: BaseException) -> None:
            from ui.errors import show_error

            self._show_indexing_state()
            show_error(self, error)

        for card in self.cards:  # at once: the job starts on the db lane
            if card.folder == folder:
                card.reindex_button.setEnabled(False)
        BackgroundOp(self, lambda: knowledge.start_indexing(folder), started, refused).run(
            self.app.tasks, "db")

    def _indexed(self, folder: str, job: Job) -> None:
        """Say what the sync did: what changed, that nothing did, or what a stop left."""
        from assistant.core import WorkCancelled, sync_summary

        name = Path(folder).name or folder
        try:
            report = job.result()
        except WorkCancelled:
            report = None
        except Exception as exc:
            from ui.errors import show_error

            show_error(self, exc)
            return
        if report is None:
            self.app.status.emit(f"Indexing of {name} stopped: what was indexed is kept; the "
                                 "rest follows next time.", False)
        else:
            self.app.status.emit(sync_summary(name, report), False)
        self._show_indexing_state()
        self.indexed.emit(folder)

    def stop_indexing(self) -> None:
        """Stop the syncs in progress (within a second; what is done is kept)."""
        self.cancel_button.setText("Stopping…")
        self.cancel_button.setEnabled(False)
        self.app.core.knowledge.stop_indexing()

    def _job_changed(self, job: Job) -> None:
        """Show the running sync's progress, "Stopping…" once asked to stop, nothing after."""
        from assistant.core import JobState

        if not job.owner.startswith("folder:"):
            return
        if self.app.core.knowledge.indexing_folders() != self._busy:
            self._show_indexing_state()
        running = [j for j in self.app.core.knowledge.indexing_jobs()
                   if j.state in (JobState.RUNNING, JobState.STOPPING)]
        if not running:
            self.progress_label.hide()
            self.progress.hide()
            self.cancel_button.hide()
            return
        current = running[0]
        progress = current.progress
        self.progress_label.setText(self.app.indexing_text())
        if progress is not None and progress.files_total:
            self.progress.setRange(0, progress.files_total)
            self.progress.setValue(progress.files_done)
        else:
            self.progress.setRange(0, 0)  # busy, no count yet
        stopping = current.state is JobState.STOPPING
        self.cancel_button.setText("Stopping…" if stopping else "Stop indexing")
        self.cancel_button.setEnabled(not stopping)
        self.progress_label.show()
        self.progress.show()
        self.cancel_button.show()
