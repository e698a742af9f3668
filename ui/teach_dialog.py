"""Teach: train an adapter from data the user chooses, with a preview, live progress and its card.

Data is prepared on the ``db`` lane (the model's vocabulary only, not the loaded model); training
runs in its own process (a QProcess running the core's worker), so the window stays responsive
and a crash in training cannot take the app down. Cancel terminates the worker; starting the same
training again resumes from its last checkpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.core import (
    LoraSettings,
    TeachSource,
    TrainingData,
    TrainingJob,
    card_lines,
    parse_event,
    plural,
    worker_command,
    worker_env,
)
from assistant.errors import LoremindError
from ui.message_widgets import label
from ui.qt import (
    QColor,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPainter,
    QPlainTextEdit,
    QProcess,
    QProcessEnvironment,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QRect,
    QSpinBox,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from ui.app import LoremindApp

KINDS = {"pairs": "Answer like this (a JSONL file of prompt/response pairs)",
         "texts": "Write like me (files or a folder of your texts)",
         "chats": "Answers I marked in my chats"}


class LossPlot(QWidget):
    """The training loss so far, as a line over labelled axes (PySide6-Essentials has no
    charts module)."""

    MARGIN = 8

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[int, float]] = []
        self.setMinimumHeight(130)

    def add(self, step: int, loss: float) -> None:
        """Append a point and repaint."""
        self.points.append((step, loss))
        self.update()

    def clear(self) -> None:
        """Forget the points."""
        self.points = []
        self.update()

    def ticks(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """The axes' end labels: (first step, last step) and (lowest loss, highest loss)."""
        steps = [step for step, _ in self.points]
        losses = [loss for _, loss in self.points]
        return ((str(min(steps)), str(max(steps))),
                (f"{min(losses):.3g}", f"{max(losses):.3g}"))

    def plot_area(self) -> QRect:
        """Where the line goes (once there are points): inside the axes, clear of their
        labels."""
        metrics = self.fontMetrics()
        _, (low, high) = self.ticks()
        left = self.MARGIN + max(metrics.horizontalAdvance(t) for t in (low, high, "loss")) + 6
        line = metrics.height()
        return QRect(left, self.MARGIN + line // 2, self.width() - left - 2 * self.MARGIN,
                     self.height() - 2 * self.MARGIN - 2 * line)

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = self.palette().color(self.foregroundRole())
        painter.setPen(QColor(color.red(), color.green(), color.blue(), 60))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if len(self.points) < 2:
            painter.end()
            return
        area = self.plot_area()
        self._draw_axes(painter, area, QColor(color.red(), color.green(), color.blue(), 160))
        first, last = self.points[0][0], self.points[-1][0]
        losses = [loss for _, loss in self.points]
        low, high = min(losses), max(losses)
        painter.setPen(self.palette().color(self.palette().ColorRole.Highlight))
        previous = None
        for step, loss in self.points:
            x = area.left() + area.width() * (step - first) / ((last - first) or 1)
            y = area.top() + area.height() * (high - loss) / ((high - low) or 1.0)
            if previous is not None:
                painter.drawLine(int(previous[0]), int(previous[1]), int(x), int(y))
            previous = (x, y)
        painter.end()

    def _draw_axes(self, painter: QPainter, area: QRect, color: QColor) -> None:
        """The step axis along the bottom, the loss axis on the left, each labelled at its
        ends."""
        (first, last), (low, high) = self.ticks()
        painter.setPen(color)
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        painter.drawLine(area.bottomLeft(), area.topLeft())
        line = self.fontMetrics().height()
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        width = area.left() - self.MARGIN - 4
        painter.drawText(QRect(self.MARGIN, area.top() - line // 2, width, line), right, high)
        painter.drawText(QRect(self.MARGIN, area.bottom() - line // 2, width, line), right, low)
        painter.drawText(QRect(self.MARGIN, area.center().y() - line // 2, width, line), right,
                         "loss")
        below = QRect(area.left(), area.bottom() + 2, area.width(), line)
        painter.drawText(below, Qt.AlignmentFlag.AlignLeft, first)
        painter.drawText(below, Qt.AlignmentFlag.AlignHCenter, "step")
        painter.drawText(below, Qt.AlignmentFlag.AlignRight, last)


class TeachDialog(QDialog):
    """Choose data, preview it, train, watch the loss, cancel, and read the result's card."""

    trained = Signal(dict)  # the card of the adapter just written
    ended = Signal(str)  # why a run ended without an adapter (cancelled, error, killed)

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.setWindowTitle("Teach an adapter")
        self.resize(620, 640)
        self.data: TrainingData | None = None
        self.job: TrainingJob | None = None
        self.process: QProcess | None = None
        self.events: list[dict[str, Any]] = []
        self._buffer = ""
        layout = QVBoxLayout(self)
        layout.addWidget(label("The adapter learns only from the data you choose here. The "
                               "model stays as it is; switch the adapter off or delete it any "
                               "time.", "Hint", wrap=True))
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("my-style")
        form.addRow("Name", self.name)
        self.kinds: dict[str, QRadioButton] = {}
        kinds_box = QVBoxLayout()
        for kind, text in KINDS.items():
            self.kinds[kind] = QRadioButton(text)
            kinds_box.addWidget(self.kinds[kind])
        self.kinds["pairs"].setChecked(True)
        form.addRow("Data", kinds_box)
        path_row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("Choose a file or folder (several paths: separate with ;)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form.addRow("From", path_row)
        self.steps = _spin(1, 100_000, 100)
        self.rank = _spin(1, 256, 8)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(1e-3)
        tuning = QHBoxLayout()
        for text, spin in (("Steps", self.steps), ("Rank", self.rank),
                           ("Learning rate", self.lr)):
            tuning.addWidget(label(text, "Count"))
            tuning.addWidget(spin)
        form.addRow("Training", tuning)
        layout.addLayout(form)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setPlaceholderText("Preview the data to see the examples and their tokens.")
        layout.addWidget(self.preview, 1)
        self.status = label("", "Hint", wrap=True)
        layout.addWidget(self.status)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)  # the status line above says the step, in words
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.plot = LossPlot()
        layout.addWidget(self.plot)
        buttons = QHBoxLayout()
        self.preview_button = QPushButton("Preview")
        self.start_button = QPushButton("Start training")
        self.cancel_button = QPushButton("Cancel training")
        self.close_button = QPushButton("Close")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.preview_button.clicked.connect(self.make_preview)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        for button in (self.preview_button, self.start_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch()
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        for widget in (self.name, self.path):
            widget.textChanged.connect(self._forget_preview)
        for radio in self.kinds.values():
            radio.toggled.connect(self._forget_preview)

    @property
    def training(self) -> bool:
        """Whether a training run is in progress (its worker process is alive)."""
        return self.process is not None

    # -- choosing and previewing --------------------------------------------------------------

    def kind(self) -> str:
        """The kind of data chosen."""
        return next(k for k, radio in self.kinds.items() if radio.isChecked())

    def settings(self) -> LoraSettings:
        """The training settings shown in the dialog."""
        rank = self.rank.value()
        return LoraSettings(rank=rank, alpha=2 * rank, steps=self.steps.value(),
                            lr=self.lr.value())

    def make_preview(self) -> None:
        """Read and tokenize the chosen data in the background, then show it."""
        from pathlib import Path

        paths = tuple(Path(p.strip()).expanduser() for p in self.path.text().split(";")
                      if p.strip())
        source = TeachSource(self.kind(), paths)
        settings = self.settings()
        teach = self.app.core.teach
        self.status.setText("Reading the data…")
        self.preview_button.setEnabled(False)
        BackgroundOp(self, lambda: teach.prepare(source, settings), self._previewed,
                     self._refused).run(self.app.tasks, "db")

    def _previewed(self, data: TrainingData) -> None:
        self.data = data
        self.preview_button.setEnabled(True)
        counts = data.counts()
        lines = [f"{plural(counts['examples'], 'example')} ({counts['heldout_examples']} held "
                 f"out to measure the result), {plural(counts['tokens'], 'token')}, "
                 f"{counts['trained_tokens']} of them trained", ""]
        for example in data.preview(8):
            where = " (held out)" if example["heldout"] else ""
            lines.append(f"[{plural(example['tokens'], 'token')}{where}] {example['origin']}")
            lines.append(f"  {example['text']}")
        lines.extend(f"note: {note}" for note in data.notes)
        self.preview.setPlainText("\n".join(lines))
        self.status.setText("Check the examples, then start.")
        self.start_button.setEnabled(True)

    def _refused(self, error: BaseException) -> None:
        self.preview_button.setEnabled(True)
        self.start_button.setEnabled(False)
        self.status.setText(str(error) if isinstance(error, LoremindError) else repr(error))

    def _forget_preview(self) -> None:
        if self.process is None:
            self.data = None
            self.start_button.setEnabled(False)

    def _browse(self) -> None:
        kind = self.kind()
        if kind == "pairs":
            chosen, _ = QFileDialog.getOpenFileName(self, "Pairs file", "", "JSONL (*.jsonl)")
            self.path.setText(chosen)
        elif kind == "texts":
            folder = QFileDialog.getExistingDirectory(self, "Folder of your texts")
            self.path.setText(folder)

    # -- training -----------------------------------------------------------------------------

    def start(self) -> None:
        """Write the job and start the worker process."""
        data, name, settings = self.data, self.name.text().strip(), self.settings()
        if data is None:
            return
        teach = self.app.core.teach
        self.start_button.setEnabled(False)
        self.preview_button.setEnabled(False)
        self.status.setText("Preparing the training…")
        BackgroundOp(self, lambda: teach.create_job(name, data, settings), self._launch,
                     self._refused).run(self.app.tasks, "db")

    def _launch(self, job: TrainingJob) -> None:
        self.job, self.events, self._buffer = job, [], ""
        self.plot.clear()
        process = QProcess(self)
        command = worker_command(job)
        process.setProgram(command[0])
        process.setArguments(command[1:])
        environment = QProcessEnvironment()
        for key, value in worker_env().items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.setStandardErrorFile(str(job.job_dir / "worker.log"),
                                     QProcess.OpenModeFlag.Append)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._finished)
        self.process = process
        self.progress.setRange(0, job.settings.steps)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.status.setText("Loading the model for training…")
        process.start()

    def cancel(self) -> None:
        """Stop the worker (SIGTERM); it keeps its checkpoint for a resume."""
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self.status.setText("Cancelling…")
            self.process.terminate()

    def _read(self) -> None:
        assert self.process is not None
        self._buffer += bytes(self.process.readAllStandardOutput().data()).decode("utf-8",
                                                                                "replace")
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            event = parse_event(line)
            if event is not None:
                self.events.append(event)
                self._show(event)

    def _show(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "probe":
            self.status.setText(f"About {event['estimated_seconds']:.0f} s of training, "
                                f"{event['memory_bytes'] / 2**30:.1f} GiB of memory.")
        elif kind == "resumed":
            self.status.setText(f"Resuming from step {event['step']}…")
        elif kind == "step":
            self.progress.setValue(event["step"])
            self.plot.add(event["step"], event["loss"])
            self.status.setText(f"Step {event['step']} of {event['steps']} · loss "
                                f"{event['loss']:.3f} · {event['tokens_per_s']:.0f} tokens/s · "
                                f"{event['seconds_left']:.0f} s left")
        elif kind == "exporting":
            self.status.setText("Writing the adapter…")
        elif kind == "evaluating":
            self.status.setText("Measuring it on the held-out examples…")

    def _finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read()
        job, self.process = self.job, None
        self.cancel_button.setEnabled(False)
        self.preview_button.setEnabled(True)
        self.start_button.setEnabled(self.data is not None)
        if job is None:
            return
        code = exit_code if exit_status == QProcess.ExitStatus.NormalExit else -1
        try:
            done = self.app.core.teach.finish(job, self.events, code)
        except LoremindError as exc:
            self.status.setText(str(exc))
            self.ended.emit(str(exc))
            return
        card = done["card"]
        self.status.setText(f"Adapter '{job.name}' is ready in the Adapters panel.")
        self.preview.setPlainText("\n".join(card_lines(card)))
        self.trained.emit(card)

    def done(self, result: int) -> None:  # noqa: D401 (Qt's name) — closing stops the worker
        """Close; a training still running is cancelled first."""
        if self.process is not None:
            self.process.terminate()
            self.process.waitForFinished(10_000)
        super().done(result)


def _spin(low: int, high: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin
