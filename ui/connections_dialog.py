"""The Connections dialog: the apps that may use Loremind, what each may do, and what each did.

Registering an app shows its token once (the keyring keeps it); permissions take effect from
the app's next call. Everything here is the core's ``connections`` area, run on the db lane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ui.message_widgets import label
from ui.panels.base import wrapping_list
from ui.qt import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGuiApplication,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from ui.tasks import BackgroundOp

if TYPE_CHECKING:
    from assistant.core import AuditEntry, Change, Client
    from ui.app import LoremindApp

_ID = Qt.ItemDataRole.UserRole
TOOL_NAMES = {"search": "Search your documents", "chat": "Ask the model (chat completions)",
              "embeddings": "Embed texts"}
LOG_REFRESH_MS = 3000  # other apps' calls announce nothing: the open log reads them again


class ConnectionsDialog(QDialog):
    """Register apps, edit their permissions, switch them off, read and clear their log."""

    def __init__(self, app: LoremindApp, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.setWindowTitle("Connected apps")
        self.setMinimumSize(720, 560)
        self.clients: list[Client] = []
        self.token_dialog: TokenDialog | None = None
        self.name_box = QLineEdit()
        self.name_box.setPlaceholderText("New app's name, e.g. Claude Desktop (Enter)")
        self.name_box.returnPressed.connect(self.register)
        self.register_button = QPushButton("Register")
        self.register_button.clicked.connect(self.register)
        self.list = QListWidget()
        self.list.currentItemChanged.connect(lambda *_: self._selected())
        self.enabled_box = QCheckBox("Switched on")
        self.tool_boxes = {tool: QCheckBox(text) for tool, text in TOOL_NAMES.items()}
        self.all_folders = QRadioButton("Every indexed folder")
        self.some_folders = QRadioButton("Only the folders ticked here:")
        self.folder_list = QListWidget()
        self.folder_list.setMaximumHeight(90)
        self.read_box = QCheckBox("Read your memories")
        self.propose_box = QCheckBox("Propose memories (each waits for your approval)")
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("Primary")
        self.save_button.clicked.connect(self.save)
        self.token_button = QPushButton("New token")
        self.token_button.setToolTip("The old token stops working at once")
        self.token_button.clicked.connect(self.renew_token)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove)
        self.log = wrapping_list()
        self.log.setWordWrap(True)
        self.clear_button = QPushButton("Clear log")
        self.clear_button.clicked.connect(self.clear_log)
        self._layout()
        self._timer = QTimer(self)
        self._timer.setInterval(LOG_REFRESH_MS)
        self._timer.timeout.connect(self.refresh_log)
        self._timer.start()
        app.changed.connect(self._changed)
        self.refresh()

    def _layout(self) -> None:
        new = QHBoxLayout()
        new.addWidget(self.name_box, 1)
        new.addWidget(self.register_button)
        editor = QFormLayout()
        editor.addRow("", self.enabled_box)
        tools = QVBoxLayout()
        for box in self.tool_boxes.values():
            tools.addWidget(box)
        editor.addRow("May", tools)
        folders = QVBoxLayout()
        folders.addWidget(self.all_folders)
        folders.addWidget(self.some_folders)
        folders.addWidget(self.folder_list)
        editor.addRow("Search in", folders)
        memories = QVBoxLayout()
        memories.addWidget(self.read_box)
        memories.addWidget(self.propose_box)
        editor.addRow("Memories", memories)
        actions = QHBoxLayout()
        actions.addWidget(self.remove_button)
        actions.addWidget(self.token_button)
        actions.addStretch()
        actions.addWidget(self.save_button)
        editor.addRow(actions)
        top = QHBoxLayout()
        top.addWidget(self.list, 1)
        top.addLayout(editor, 2)
        log_head = QHBoxLayout()
        log_head.addWidget(label("WHAT THE APPS DID", "SectionLabel"))
        log_head.addStretch()
        log_head.addWidget(self.clear_button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label("Each app gets its own token and only what you allow here. "
                               "Every call it makes is in the log below.", "Hint", wrap=True))
        layout.addLayout(new)
        layout.addLayout(top, 2)
        layout.addLayout(log_head)
        layout.addWidget(self.log, 1)
        layout.addWidget(close)

    @property
    def area(self) -> Any:
        """The core's connections area."""
        return self.app.core.connections

    # -- reading -------------------------------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        """Read the registered apps again (and then the log); then select the app with the id
        ``select`` (else the one selected now)."""
        area, chosen = self.area, self.selected()
        wanted = select or (chosen.id if chosen is not None else None)
        BackgroundOp(self, area.clients,
                     lambda clients: self._show_clients(clients, wanted)).run(self.app.tasks,
                                                                                "db")

    def _show_clients(self, clients: list[Client], wanted: str | None) -> None:
        self.clients = clients
        self.list.clear()
        for client in clients:
            item = QListWidgetItem(client.name + ("" if client.enabled else "   (off)"))
            item.setData(_ID, client.id)
            self.list.addItem(item)
            if client.id == wanted:
                self.list.setCurrentItem(item)
        self._selected()

    def selected(self) -> Client | None:
        """The app selected in the list."""
        item = self.list.currentItem()
        wanted = item.data(_ID) if item is not None else None
        return next((c for c in self.clients if c.id == wanted), None)

    def _selected(self) -> None:
        client = self.selected()
        for widget in (self.enabled_box, *self.tool_boxes.values(), self.all_folders,
                       self.some_folders, self.folder_list, self.read_box, self.propose_box,
                       self.save_button, self.token_button, self.remove_button):
            widget.setEnabled(client is not None)
        if client is not None:
            permissions = client.permissions
            self.enabled_box.setChecked(client.enabled)
            for tool, box in self.tool_boxes.items():
                box.setChecked(permissions.may(tool))
            self.all_folders.setChecked(permissions.folders is None)
            self.some_folders.setChecked(permissions.folders is not None)
            self.read_box.setChecked(permissions.read_memories)
            self.propose_box.setChecked(permissions.propose_memories)
            self._show_folders(permissions.folders)
        self.refresh_log()

    def _show_folders(self, allowed: tuple[str, ...] | None) -> None:
        self.folder_list.clear()
        for folder in dict.fromkeys([*self.app.core.knowledge.folders, *(allowed or ())]):
            item = QListWidgetItem(folder)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            ticked = allowed is not None and folder in allowed
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            self.folder_list.addItem(item)

    def refresh_log(self) -> None:
        """Read the log again: the selected app's calls, or every app's."""
        client, area = self.selected(), self.area
        BackgroundOp(self, lambda: area.audit(client.id if client else None, 200),
                     self._show_log).run(self.app.tasks, "db")

    def _show_log(self, entries: list[AuditEntry]) -> None:
        self.log.clear()
        for entry in entries:
            mark = "" if entry.outcome == "ok" else f"   [{entry.outcome}]"
            self.log.addItem(entry.sentence() + mark)
        if not entries:
            self.log.addItem("No call yet.")

    # -- changing ------------------------------------------------------------------------------

    def edited_permissions(self) -> Any:
        """The permissions as the editor shows them."""
        from assistant.core import Permissions

        folders = None if self.all_folders.isChecked() else tuple(
            self.folder_list.item(row).text() for row in range(self.folder_list.count())
            if self.folder_list.item(row).checkState() == Qt.CheckState.Checked)
        return Permissions(tools=tuple(t for t, box in self.tool_boxes.items() if box.isChecked()),
                           folders=folders, read_memories=self.read_box.isChecked(),
                           propose_memories=self.propose_box.isChecked())

    def register(self) -> None:
        """Register the app named in the box; its token is shown once."""
        name, area = self.name_box.text().strip(), self.area
        if not name:
            return
        self.name_box.clear()

        def shown(result: tuple[Client, str]) -> None:
            client, token = result
            self.token_dialog = TokenDialog(client.name, token, self.app, self)
            self.token_dialog.open()
            self.refresh(select=client.id)

        BackgroundOp(self, lambda: area.register(name), shown).run(self.app.tasks, "db")

    def save(self) -> None:
        """Store the selected app's permissions and whether it is on."""
        client, area = self.selected(), self.area
        if client is None:
            return
        permissions, enabled = self.edited_permissions(), self.enabled_box.isChecked()

        def store() -> None:
            area.set_permissions(client.id, permissions)
            area.set_enabled(client.id, enabled)

        BackgroundOp(self, store).run(self.app.tasks, "db")

    def renew_token(self) -> None:
        """Give the selected app a new token, shown once."""
        client, area = self.selected(), self.area
        if client is None:
            return

        def shown(token: str) -> None:
            self.token_dialog = TokenDialog(client.name, token, self.app, self)
            self.token_dialog.open()

        BackgroundOp(self, lambda: area.renew_token(client.id), shown).run(self.app.tasks, "db")

    def remove(self) -> None:
        """Forget the selected app and its token."""
        client, area = self.selected(), self.area
        if client is not None:
            BackgroundOp(self, lambda: area.remove(client.id)).run(self.app.tasks, "db")

    def clear_log(self) -> None:
        """Erase the log shown (the selected app's, or all of it) for good."""
        client, area = self.selected(), self.area
        BackgroundOp(self, lambda: area.clear_audit(client.id if client else None)).run(
            self.app.tasks, "db")

    def _changed(self, change: Change) -> None:
        if change.area == "connections":
            self.refresh()

    def done(self, result: int) -> None:
        """Stop reading the log when the dialog closes."""
        self._timer.stop()
        self.app.changed.disconnect(self._changed)
        super().done(result)


class TokenDialog(QDialog):
    """An app's token, shown this once, with what to paste where."""

    def __init__(self, name: str, token: str, app: LoremindApp,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Token for {name}")
        connect = app.settings.connect
        base = f"http://{connect.host}:{connect.port}"
        self.token_box = QLineEdit(token)
        self.token_box.setReadOnly(True)
        copy = QPushButton("Copy")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(token))
        row = QHBoxLayout()
        row.addWidget(self.token_box, 1)
        row.addWidget(copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label(f"This is {name}'s token. It is shown only now (the system "
                               "keyring keeps it): copy it into the app.", wrap=True))
        layout.addLayout(row)
        layout.addWidget(label(
            f"OpenAI-compatible apps: base URL {base}/v1, API key: the token.\n"
            f"MCP over HTTP: {base}/mcp with the header Authorization: Bearer <token>.\n"
            "Apps that launch a server (Claude Desktop): command `loremind mcp` with the "
            "environment variable LOREMIND_TOKEN set to the token.", "Hint", wrap=True))
        layout.addWidget(buttons)
