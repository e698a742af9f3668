"""The Models page's Retrieval section: the embedders and rerankers of the catalogue, their
downloads, which one search uses, and the rebuild of the index while it switches embedder.

Choosing an embedder goes through the core (``core.knowledge.use_embedder``), which rebuilds
the index in the background while search keeps using the old one; this section only shows the
rebuild's progress, which it learns from the core's job announcements.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.core import Area, RetrievalRow, WorkCancelled, gigabytes, rebuild_text
from assistant.core import DownloadProgress as Progress
from ui.errors import show_error
from ui.message_widgets import label
from ui.model_downloads import model_downloads
from ui.qt import (
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
    from assistant.core import Change, Job
    from ui.app import LoremindApp

BUILTIN = "builtin"  # the card of the embedder that ships with Loremind
BUILTIN_FACTS = "ships with Loremind · apache-2.0 · en · 384 dimensions"
BUILTIN_SUMMARY = ("all-MiniLM-L6-v2: small and quick, English; the one search uses unless you "
                   "choose another.")
WHAT = ("Search turns passages and questions into vectors with an embedder; a reranker then "
        "rescores the best passages against the question. Switching the embedder rebuilds the "
        "index in the background: search keeps working with the old one until it is done.")


@dataclass(frozen=True)
class RetrievalState:
    """What the section shows, read on the db lane."""

    embedders: list[RetrievalRow]
    rerankers: list[RetrievalRow]
    in_use: str  # the embedder the index is made with
    wanted: str  # the one chosen (rebuilding while it differs)
    reranker: str  # the setting: a catalogue name, a path, or ""
    problem: str


class RetrievalCard(QFrame):
    """One embedder or reranker: what it is for, and Download or Use."""

    def __init__(self, section: RetrievalSection, name: str, title: str, facts: str,
                 summary: str, row: RetrievalRow | None = None) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.name = name
        self.row = row
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(4)
        self.title = label(title, "SourceTitle", wrap=True)
        layout.addWidget(self.title)
        self.facts = label(facts, "Count", wrap=True)
        layout.addWidget(self.facts)
        layout.addWidget(label(summary, "Hint", wrap=True))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.progress_text = label("", "Hint", wrap=True)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_text)
        self.download = QPushButton("Download")
        self.download.setObjectName("Primary")
        self.download.clicked.connect(lambda: section.download(name))
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(lambda: section.downloads.cancel(name))
        kind = row.kind if row is not None else "embedder"
        self.use = QPushButton("Use for search" if kind == "embedder" else "Use to rerank")
        self.use.clicked.connect(lambda: section.use(kind, name))
        layout.addLayout(_row(self.download, self.cancel, self.use))

    def show_state(self, mark: str, usable: bool, downloading: bool,
                   progress: Progress | None) -> None:
        """The card's mark ("In use", "Rebuilding…"), and the buttons that fit it now."""
        row = self.row
        base = row.title if row is not None else "Built-in (all-MiniLM-L6-v2)"
        self.title.setText(base + (f"  ·  {mark}" if mark else ""))
        installed = row is None or row.installed
        self.download.setVisible(not installed and not downloading)
        self.download.setEnabled(row is None or row.fits)
        if row is not None and row.partial_bytes and not installed:
            self.download.setText(f"Resume ({gigabytes(row.partial_bytes)} kept)")
        self.cancel.setVisible(downloading)
        self.use.setVisible(installed and usable)
        self.progress.setVisible(downloading)
        self.progress_text.setVisible(downloading)
        if downloading:
            self.show_progress(progress)

    def show_progress(self, progress: Progress | None) -> None:
        fraction = progress.fraction if progress is not None else None
        if fraction is None or progress is None or progress.phase != "downloading":
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        self.progress_text.setText(progress.describe() if progress is not None else "Waiting…")


class RetrievalSection(QWidget):
    """The embedders and rerankers, which ones are in use, and the rebuild under way."""

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.downloads = model_downloads(app)
        self.cards: dict[str, RetrievalCard] = {}
        self.state: RetrievalState | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(label("Retrieval models", "SourceTitle"))
        layout.addWidget(label(WHAT, "Hint", wrap=True))
        self.in_use_line = label("", "Count", wrap=True)
        layout.addWidget(self.in_use_line)
        self.rebuild_line = label("", "Hint", wrap=True)
        self.rebuild_bar = QProgressBar()
        self.rebuild_bar.setTextVisible(False)
        self.rebuild_bar.setFixedHeight(6)
        self.stop_rebuild = QPushButton("Stop rebuilding")
        self.stop_rebuild.clicked.connect(self.stop)
        self.problem_line = label("", "Reason", wrap=True)
        for widget in (self.rebuild_line, self.rebuild_bar, self.stop_rebuild,
                       self.problem_line):
            layout.addWidget(widget)
            widget.hide()
        self.embedder_list = QVBoxLayout()
        self.reranker_list = QVBoxLayout()
        layout.addLayout(self.embedder_list)
        self.embedder_file = QPushButton("Use an embedder file…")
        self.embedder_file.setToolTip("A GGUF embedding model of your own")
        self.embedder_file.clicked.connect(lambda: self.use_file("embedder"))
        layout.addLayout(_row(self.embedder_file))
        self.no_reranker = QPushButton("No reranker")
        self.no_reranker.clicked.connect(lambda: self.use("reranker", ""))
        self.reranker_file = QPushButton("Use a reranker file…")
        self.reranker_file.setToolTip("A GGUF reranking model of your own")
        self.reranker_file.clicked.connect(lambda: self.use_file("reranker"))
        layout.addWidget(label("Rerankers", "Count"))
        layout.addLayout(self.reranker_list)
        layout.addLayout(_row(self.reranker_file, self.no_reranker))
        app.job_changed.connect(self._job_changed)
        app.changed.connect(self._changed)
        self.downloads.progressed.connect(self._progressed)
        self.downloads.finished.connect(lambda _name, _model: self.refresh())
        self.downloads.failed.connect(lambda _name, _error: self.refresh())

    # -- reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the retrieval models and the state of the index again (db lane)."""
        core = self.app.core

        def read() -> RetrievalState:
            knowledge = core.knowledge
            return RetrievalState(core.models.retrieval_models("embedder"),
                                  core.models.retrieval_models("reranker"),
                                  knowledge.embedder_in_use, knowledge.embedder_wanted,
                                  core.current_settings.knowledge.reranker,
                                  knowledge.embedder_problem)

        BackgroundOp(self, read, self._fill).run(self.app.tasks, "db")

    def _fill(self, state: RetrievalState) -> None:
        self.state = state
        for card in self.cards.values():
            card.setParent(None)
            card.deleteLater()
        self.cards = {BUILTIN: RetrievalCard(self, BUILTIN, "", BUILTIN_FACTS, BUILTIN_SUMMARY)}
        self.embedder_list.addWidget(self.cards[BUILTIN])
        for row in state.embedders + state.rerankers:
            facts = [gigabytes(row.size_bytes), row.license, ", ".join(row.languages),
                     f"{row.dimensions} dimensions" if row.dimensions else "", row.fit_note]
            card = RetrievalCard(self, row.name, row.title, " · ".join(f for f in facts if f),
                                 row.summary, row)
            self.cards[row.name] = card
            (self.embedder_list if row.kind == "embedder" else self.reranker_list).addWidget(card)
        reranker = next((r.title for r in state.rerankers if r.name == state.reranker),
                        Path(state.reranker).name or "none")  # a file of one's own: its name
        self.in_use_line.setText(f"Search uses: {state.in_use} · Reranker: {reranker}")
        self.in_use_line.setToolTip(state.reranker)
        self.no_reranker.setVisible(bool(state.reranker))
        self.problem_line.setText(state.problem)
        self.problem_line.setVisible(bool(state.problem))
        for card in self.cards.values():
            card.show()  # now, not on the next turn of the event loop
        self._show_cards()
        self.show_rebuild()

    def _show_cards(self) -> None:
        state = self.state
        if state is None:
            return
        rebuilding = bool(self.app.core.knowledge.rebuild_jobs())
        for name, card in self.cards.items():
            embedder = card.row is None or card.row.kind == "embedder"
            named = "all-MiniLM-L6-v2" if name == BUILTIN else name
            if embedder:
                chosen = named == state.wanted and named != state.in_use
                mark = ("In use" if named == state.in_use == state.wanted
                        else "In use until the rebuild is done" if named == state.in_use
                        else "" if not chosen
                        else "Rebuilding the index for it…" if rebuilding
                        else "Chosen: its rebuild is stopped (Use goes on with it)")
                usable = named != state.wanted or (chosen and not rebuilding)
            else:
                mark, usable = ("In use", False) if name == state.reranker else ("", True)
            card.show_state(mark, usable, self.downloads.is_active(name),
                            self.downloads.latest.get(name))

    def show_rebuild(self) -> None:
        """The rebuild's progress from the core, or nothing when none runs."""
        knowledge = self.app.core.knowledge
        progress = knowledge.rebuild_progress
        jobs = knowledge.rebuild_jobs()
        running = bool(jobs)
        self.rebuild_line.setText(rebuild_text(progress) if progress is not None
                                  else knowledge.rebuild_text())
        if progress is not None and progress.chunks_total and progress.stage == "passages":
            self.rebuild_bar.setRange(0, progress.chunks_total)
            self.rebuild_bar.setValue(progress.chunks_done)
        else:
            self.rebuild_bar.setRange(0, 0)
        for widget in (self.rebuild_line, self.rebuild_bar, self.stop_rebuild):
            widget.setVisible(running)

    # -- events --------------------------------------------------------------------------------

    def _job_changed(self, job: Job) -> None:
        if not job.owner.startswith("embedder:"):
            return
        self.show_rebuild()
        if job.ended:
            error = job.future.exception() if not job.future.cancelled() else None
            if error is not None and not isinstance(error, WorkCancelled):
                show_error(self, error)
            self.refresh()

    def _changed(self, change: Change) -> None:
        if change.area is Area.KNOWLEDGE and change.action in ("embedder", "reranker"):
            self.refresh()

    def _progressed(self, name: str, progress: Progress) -> None:
        card = self.cards.get(name)
        if card is not None:
            card.show_progress(progress)

    # -- actions -------------------------------------------------------------------------------

    def download(self, name: str) -> None:
        """Download ``name`` with the same downloads as the chat models."""
        self.downloads.start(name)
        self._show_cards()

    def use(self, kind: str, name: str) -> None:
        """Search with the embedder ``name`` (the index is rebuilt for it in the background),
        or rerank with ``name`` ("" for none)."""
        knowledge = self.app.core.knowledge

        def choose() -> object:
            if kind == "embedder":
                return knowledge.use_embedder("" if name == BUILTIN else name)
            return knowledge.use_reranker(name)

        BackgroundOp(self, choose, lambda _done: self.refresh()).run(self.app.tasks, "db")

    def use_file(self, kind: str) -> None:
        """Use a GGUF file the user picks as the embedder or the reranker (the core checks it
        first: a file that is not one says why)."""
        what = "an embedding model" if kind == "embedder" else "a reranker"
        path, _filter = QFileDialog.getOpenFileName(self, f"Choose {what} (GGUF)",
                                                    str(Path.home()),
                                                    "GGUF models (*.gguf);;All files (*)")
        if path:
            self.use(kind, path)

    def stop(self) -> None:
        """Stop the rebuild (it goes on from where it stopped when the app starts again, or
        when the embedder is chosen again)."""
        BackgroundOp(self, self.app.core.knowledge.stop_rebuild,
                     lambda _jobs: self.show_rebuild()).run(self.app.tasks, "db")


def _row(*buttons: QPushButton) -> QHBoxLayout:
    """Buttons side by side, on the left."""
    row = QHBoxLayout()
    row.setSpacing(6)
    for button in buttons:
        row.addWidget(button)
    row.addStretch()
    return row
