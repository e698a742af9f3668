"""The memory panel: everything the assistant remembers, searchable, editable and revocable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ui import theme
from ui.message_widgets import label
from ui.panels.base import Panel, wrapping_list
from ui.qt import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QTimer,
    QWidget,
    Signal,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from ui.app import LoremindApp

STATUSES = (("Active", "active"), ("Waiting for approval", "pending"),
            ("Forgotten", "forgotten"), ("Rejected", "rejected"), ("All", None))
_ID = Qt.ItemDataRole.UserRole
NO_HISTORY = "Select a memory to see its history."


def _button(icon: str, text: str, tip: str = "") -> QPushButton:
    button = QPushButton(theme.icon(icon, "muted"), text)
    button.setToolTip(tip)
    return button


def _note(text: str) -> QListWidgetItem:
    """A row that says something about the list and cannot be selected."""
    item = QListWidgetItem(text)
    item.setFlags(Qt.ItemFlag.NoItemFlags)
    return item


class MemoryPanel(Panel):
    """List, search, edit, forget, restore, approve memories; pause; export and import."""

    areas = ("memory",)
    undoable = Signal(str, object)  # what was done, the function that undoes it

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(app, "Memory", "What the assistant remembers about you. Nothing "
                         "proposed is kept without your approval (unless you chose "
                         "auto-approve in Settings).", parent)
        self.memories: list[Any] = []
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search memories")
        self.search.setClearButtonEnabled(True)
        self.status = QComboBox()
        for text, value in STATUSES:
            self.status.addItem(text, value)
        self.body.addWidget(self.search)  # a row of its own: beside the filter it was cut
        show = QHBoxLayout()
        show.addWidget(label("Show", "Count"))
        show.addWidget(self.status, 1)
        self.body.addLayout(show)
        self.add_box = QLineEdit()
        self.add_box.setPlaceholderText("Remember something new… (Enter)")
        self.add_box.returnPressed.connect(self.remember)
        self.body.addWidget(self.add_box)
        self.list = wrapping_list()
        # The selection, not the current row: Qt makes a row current without selecting it (focus
        # entering the list after Forget), which showed another memory's history.
        self.list.itemSelectionChanged.connect(self._selected)
        self.body.addWidget(self.list, 2)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Select a memory to see and change it")
        self.editor.setMaximumHeight(70)
        self.body.addWidget(self.editor)
        actions = QGridLayout()  # three to a row: six in one row were cut ("Forge", "Undc")
        self.save_button = _button("check", "Save", "Save the edited text")
        self.approve_button = _button("check", "Approve")
        self.reject_button = _button("close", "Reject")
        self.pin_button = _button("pin", "Pin", "Pinned memories go into every answer")
        self.forget_button = _button("trash", "Forget")
        self.restore_button = _button("history", "Undo", "Undo the last change to it")
        for index, button in enumerate((self.save_button, self.pin_button, self.forget_button,
                                        self.restore_button, self.approve_button,
                                        self.reject_button)):
            actions.addWidget(button, index // 3, index % 3)
        self.body.addLayout(actions)
        self.body.addWidget(label("HISTORY", "SectionLabel"))
        self.history = wrapping_list()  # an edit quotes the whole text: rows wrap
        self.history.setMaximumHeight(120)
        self.body.addWidget(self.history)
        bottom = QHBoxLayout()
        self.pause_button = QPushButton(theme.icon("pause", "muted"), "Pause")
        self.pause_button.setCheckable(True)
        self.export_button = _button("export", "Export…")
        self.import_button = _button("import", "Import…")
        self.pause_button.setToolTip("While paused, chats neither use nor propose memories")
        bottom.addWidget(self.pause_button)
        bottom.addStretch()
        bottom.addWidget(self.export_button)
        bottom.addWidget(self.import_button)
        self.body.addLayout(bottom)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.status.currentIndexChanged.connect(lambda _i: self.refresh())
        self.save_button.clicked.connect(lambda: self._change("edit"))
        self.approve_button.clicked.connect(lambda: self._change("approve"))
        self.reject_button.clicked.connect(lambda: self._change("reject"))
        self.pin_button.clicked.connect(lambda: self._change("pin"))
        self.forget_button.clicked.connect(lambda: self._change("forget"))
        self.restore_button.clicked.connect(lambda: self._change("restore"))
        self.pause_button.clicked.connect(self.toggle_pause)
        self.export_button.clicked.connect(self.export)
        self.import_button.clicked.connect(self.import_)
        self._selected()

    @property
    def book(self) -> Any:
        """The core's memory area, once the app is ready."""
        return self.app.core.memory if self.app.is_ready else None

    def refresh(self) -> None:
        """Read the memories shown (filtered by status and search) on the db lane."""
        book = self.book
        if book is None:
            return
        query = self.search.text().strip()
        status = self.status.currentData()

        def read() -> tuple[list[Any], bool]:
            found = book.search(query, 50, status) if query else book.list(status)
            return found, book.paused

        BackgroundOp(self, read, self._show).run(self.app.tasks, "db")

    def _show(self, result: tuple[list[Any], bool]) -> None:
        memories, paused = result
        selected = self.selected()
        self.memories = memories
        self.list.blockSignals(True)  # one _selected below, not one per row cleared and added
        self.list.clear()
        for memory in memories:
            text = memory.text
            if memory.status != "active":
                text += f"   ({memory.status})"
            if memory.source:  # proposed by a connected app, not from the user's own chats
                text += f"   · from {memory.source}"
            item = QListWidgetItem(text)
            item.setData(_ID, memory.id)
            if memory.pinned:  # an icon of the app's set: fonts without the 📌 glyph drew a box
                item.setIcon(theme.icon("pin", "muted"))
            self.list.addItem(item)
            if selected is not None and memory.id == selected.id:
                self.list.setCurrentItem(item)
        if not memories:
            self.list.addItem(_note("Nothing here yet."))
        self.list.blockSignals(False)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Paused" if paused else "Pause")
        self._selected()

    def selected(self) -> Any:
        """The memory selected in the list (None when none is, whatever row is current)."""
        items = self.list.selectedItems()
        memory_id = items[0].data(_ID) if items else None
        return next((m for m in self.memories if m.id == memory_id), None)

    def select(self, memory_id: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(_ID) == memory_id:
                self.list.setCurrentRow(row)

    def _selected(self) -> None:
        memory = self.selected()
        self.editor.setPlainText(memory.text if memory else "")
        self.editor.setEnabled(memory is not None)
        pending = memory is not None and memory.status == "pending"
        self.save_button.setEnabled(memory is not None)
        self.approve_button.setVisible(pending)
        self.reject_button.setVisible(pending)
        self.pin_button.setEnabled(memory is not None and memory.status == "active")
        self.pin_button.setText("Unpin" if memory is not None and memory.pinned else "Pin")
        self.forget_button.setEnabled(memory is not None and memory.status == "active")
        self.restore_button.setEnabled(memory is not None)
        self.history.clear()
        book = self.book
        if memory is None or book is None:
            self.list.setCurrentRow(-1)  # no row left current to be mistaken for a choice
            self.history.addItem(_note(NO_HISTORY))
            return
        BackgroundOp(self, lambda: book.history(memory.id),
                     lambda events: self._show_history(memory.id, events)
                     ).run(self.app.tasks, "db")

    def _show_history(self, memory_id: str, events: list[Any]) -> None:
        """Show ``memory_id``'s history, unless another memory (or none) is selected by now."""
        from datetime import datetime

        memory = self.selected()
        if memory is None or memory.id != memory_id:
            return
        self.history.clear()
        for event in events:
            when = datetime.fromtimestamp(event.at).strftime("%d %b %H:%M")
            change = f"“{event.new_text}”" if event.new_text and event.event != "proposed" else ""
            actor = memory.source if event.actor == "app" and memory.source else event.actor
            self.history.addItem(f"{when}  {event.event} by {actor} {change}".strip())

    # -- changing ------------------------------------------------------------------------------

    def _change(self, action: str) -> None:
        memory, book = self.selected(), self.book
        if memory is None or book is None:
            return
        text = self.editor.toPlainText()
        work = {
            "edit": lambda: book.edit(memory.id, text),
            "approve": lambda: book.approve(memory.id),
            "reject": lambda: book.reject(memory.id),
            "pin": lambda: book.pin(memory.id, not memory.pinned),
            "forget": lambda: book.forget(memory.id),
            "restore": lambda: book.restore(memory.id),
        }[action]

        def done(_change: Any) -> None:
            if action == "forget":  # undo right here, not after finding it under "Forgotten"
                self.undoable.emit(f"Forgot “{memory.text}”.", lambda: self.undo_forget(memory.id))

        BackgroundOp(self, work, done).run(self.app.tasks, "db")  # the change refreshes the panel

    def undo_forget(self, memory_id: str) -> None:
        """Bring a memory just forgotten back (its audit trail records both steps)."""
        book = self.book
        if book is not None:
            BackgroundOp(self, lambda: book.restore(memory_id)).run(self.app.tasks, "db")

    def remember(self) -> None:
        """Keep the typed text as a memory at once."""
        text, book = self.add_box.text().strip(), self.book
        if not text or book is None:
            return
        self.add_box.clear()
        BackgroundOp(self, lambda: book.remember(text)).run(self.app.tasks, "db")

    def toggle_pause(self) -> None:
        """Pause memory (chats neither use nor propose memories) or resume it."""
        book = self.book
        if book is None:
            return
        pause = self.pause_button.isChecked()
        BackgroundOp(self, lambda: book.pause(pause)).run(self.app.tasks, "db")

    def export(self) -> None:
        """Save every memory and its history to a JSON file the user picks."""
        path, _ = QFileDialog.getSaveFileName(self, "Export memories", "memories.json",
                                              "JSON (*.json)")
        book = self.book
        if not path or book is None:
            return

        def done(result: tuple[Path, int]) -> None:
            self.app.status.emit(f"Exported {result[1]} memories to {result[0]}.", False)

        BackgroundOp(self, lambda: book.export_to(Path(path)), done).run(self.app.tasks, "db")

    def import_(self) -> None:
        """Merge memories from an exported JSON file."""
        path, _ = QFileDialog.getOpenFileName(self, "Import memories", "", "JSON (*.json)")
        book = self.book
        if not path or book is None:
            return

        def done(counts: tuple[int, int]) -> None:
            self.app.status.emit(f"Imported {counts[0]} memories ({counts[1]} already known).",
                                 False)

        BackgroundOp(self, lambda: book.import_file(Path(path)), done).run(self.app.tasks, "db")
