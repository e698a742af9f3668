"""One chat turn on screen: the user's bubble, or an answer with its sources, memories and stats."""

from __future__ import annotations

from typing import Any

from assistant.chat.rendering import (
    answer_stats_line,
    citation_number,
    openable_source,
    source_title,
)
from ui import theme
from ui.markdown_view import MarkdownBody, open_url
from ui.qt import (
    QDesktopServices,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    Qt,
    QTimer,
    QToolButton,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)

RENDER_INTERVAL_MS = 50  # re-render a streaming answer at most this often
BUBBLE_WIDTH = 520


def tool_button(icon: str, tip: str, parent: QWidget | None = None) -> QToolButton:
    """A flat icon button with a tooltip."""
    button = QToolButton(parent)
    button.setIcon(theme.icon(icon, "muted", 16))
    button.setToolTip(tip)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def label(text: str, name: str = "", wrap: bool = False) -> QLabel:
    """A label with an object name for the stylesheet."""
    widget = QLabel(text)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(wrap)
    return widget


class UserMessage(QWidget):
    """The user's turn, right-aligned in a bubble; the last one can be edited."""

    edit_requested = Signal()

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = text
        row = QHBoxLayout(self)
        row.setContentsMargins(60, 4, 0, 4)
        self.edit_button = tool_button("edit", "Edit this message (answers it again)")
        self.edit_button.clicked.connect(self.edit_requested)
        self.edit_button.setVisible(False)
        bubble = QFrame()
        bubble.setObjectName("UserBubble")
        inner = QVBoxLayout(bubble)
        inner.setContentsMargins(14, 9, 14, 9)
        body = label(text, "MessageText", wrap=True)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.setTextFormat(Qt.TextFormat.PlainText)
        longest = max(body.fontMetrics().horizontalAdvance(line) for line in text.splitlines()
                      or [""])
        body.setMinimumWidth(min(longest + 4, BUBBLE_WIDTH))  # wrap only past this width
        inner.addWidget(body)
        bubble.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        row.addStretch()
        row.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(bubble)

    def set_last(self, last: bool) -> None:
        self.edit_button.setVisible(last)


class SourceCard(QFrame):
    """A cited chunk: its number, file and place, a snippet, and a button to open the file."""

    def __init__(self, source: dict[str, Any], folders: list[str]) -> None:
        super().__init__()
        self.setObjectName("SourceCard")
        self.number = int(source.get("number", 0))
        self.path = openable_source(str(source.get("path", "")), folders)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 8, 8)
        badge = label(str(self.number), "SourceNumber")
        badge.setFixedSize(18, 18)
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(label(source_title(source), "SourceTitle"))
        snippet = " ".join(str(source.get("text", "")).split())
        text.addWidget(label(snippet[:220] + ("…" if len(snippet) > 220 else ""),
                             "SourceSnippet", wrap=True))
        self.open_button = tool_button("open", "Open the file" if self.path else
                                       "Only files inside watched folders can be opened")
        self.open_button.setEnabled(self.path is not None)
        self.open_button.clicked.connect(self.open_file)
        layout.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)
        layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)

    def open_file(self) -> None:
        """Open the cited file with the desktop's default application."""
        if self.path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))

    def set_highlighted(self, on: bool) -> None:
        self.setProperty("highlighted", "true" if on else "false")
        self.style().unpolish(self)
        self.style().polish(self)


class ProposalCard(QFrame):
    """A memory the assistant would like to keep: approve, edit or reject it right here."""

    decided = Signal(str, str, str)  # memory id, "approve" | "reject" | "edit", new text

    def __init__(self, memory: Any, replaces: Any = None) -> None:
        super().__init__()
        self.setObjectName("ProposalCard")
        self.memory_id = memory.id
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        title = "Update a memory?" if replaces is not None else "Remember this?"
        layout.addWidget(label(title, "SourceTitle"))
        if replaces is not None:
            layout.addWidget(label(f"Instead of: “{replaces.text}”", "Muted", wrap=True))
        self.editor = QLineEdit(memory.text)
        self.editor.setReadOnly(True)
        layout.addWidget(self.editor)
        buttons = QHBoxLayout()
        self.approve_button = QPushButton("Remember")
        self.approve_button.setObjectName("Primary")
        self.edit_button = QPushButton("Edit")
        self.reject_button = QPushButton("Don't remember")
        for button in (self.approve_button, self.edit_button, self.reject_button):
            buttons.addWidget(button)
        buttons.addStretch()
        layout.addLayout(buttons)
        self.approve_button.clicked.connect(self._approve)
        self.edit_button.clicked.connect(self._edit)
        self.reject_button.clicked.connect(lambda: self._decide("reject"))

    def _approve(self) -> None:
        self._decide("edit" if not self.editor.isReadOnly() else "approve")

    def _edit(self) -> None:
        self.editor.setReadOnly(False)
        self.editor.setFocus()
        self.edit_button.setEnabled(False)
        self.approve_button.setText("Save and remember")

    def _decide(self, action: str) -> None:
        for button in (self.approve_button, self.edit_button, self.reject_button):
            button.setEnabled(False)
        self.decided.emit(self.memory_id, action, self.editor.text())

    def show_outcome(self, text: str) -> None:
        """Replace the buttons with what happened."""
        for button in (self.approve_button, self.edit_button, self.reject_button):
            button.hide()
        self.editor.setReadOnly(True)
        self.layout().addWidget(label(text, "RememberedNote"))


class AssistantMessage(QWidget):
    """An answer: streamed Markdown, the memories it used, its sources, proposals and stats."""

    regenerate_requested = Signal()
    memory_decision = Signal(str, str, str)  # memory id, action, text

    def __init__(self, folders: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folders = folders
        self.text = ""
        self.cards: dict[int, SourceCard] = {}
        self.proposals: list[ProposalCard] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 6, 20, 6)
        avatar = QLabel()
        avatar.setObjectName("AssistantAvatar")
        avatar.setFixedSize(28, 28)
        avatar.setPixmap(theme.logo().pixmap(28, 28))
        column = QVBoxLayout()
        column.setSpacing(8)
        self.chips = QHBoxLayout()
        self.chips.setSpacing(6)
        self.chips_box = QWidget()
        self.chips_box.setLayout(self.chips)
        self.chips.setContentsMargins(0, 0, 0, 0)
        self.chips_box.hide()
        self.body = MarkdownBody()
        self.body.link_clicked.connect(self._link)
        self.sources_box = QVBoxLayout()
        self.sources_box.setSpacing(6)
        self.proposals_box = QVBoxLayout()
        footer = QHBoxLayout()
        self.stats = label("", "StatsLine")
        self.copy_button = tool_button("copy", "Copy the answer")
        self.copy_button.clicked.connect(self.copy)
        self.regenerate_button = tool_button("refresh", "Answer again")
        self.regenerate_button.clicked.connect(self.regenerate_requested)
        self.regenerate_button.setVisible(False)
        footer.addWidget(self.copy_button)
        footer.addWidget(self.regenerate_button)
        footer.addWidget(self.stats)
        footer.addStretch()
        column.addWidget(self.chips_box)
        column.addWidget(self.body)
        column.addLayout(self.sources_box)
        column.addLayout(self.proposals_box)
        column.addLayout(footer)
        row.addWidget(avatar, 0, Qt.AlignmentFlag.AlignTop)
        row.addSpacing(8)
        row.addLayout(column, 1)
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(lambda: self.body.set_text(self.text))

    # -- filling it in -------------------------------------------------------------------------

    def set_sources(self, sources: list[dict[str, Any]]) -> None:
        """Show the numbered sources the answer may cite."""
        self.body.citations = {int(s.get("number", 0)) for s in sources}
        if sources:
            self.sources_box.addWidget(label("Sources", "SectionLabel"))
        for source in sources:
            card = SourceCard(source, self.folders)
            self.cards[card.number] = card
            self.sources_box.addWidget(card)

    def set_memories(self, memories: list[str]) -> None:
        """Show a chip for each memory the answer was given."""
        for text in memories:
            chip = label("◆ " + (text if len(text) <= 48 else text[:47] + "…"), "MemoryChip")
            chip.setToolTip(f"Memory used: {text}")
            self.chips.addWidget(chip)
        self.chips.addStretch()
        self.chips_box.setVisible(bool(memories))

    def append(self, piece: str) -> None:
        """Add streamed text; the view catches up a few times a second."""
        self.text += piece
        if not self._render_timer.isActive():
            self._render_timer.start()

    def finish(self, text: str, stats: Any = None) -> None:
        """Show the final text and, when given, what the answer cost."""
        self._render_timer.stop()
        self.text = text
        self.body.set_text(text)
        if stats is not None:
            self.stats.setText(answer_stats_line(stats.completion_tokens, stats.seconds,
                                                 stats.adapters, stats.finish_reason))

    def fail(self, message: str) -> None:
        self.finish(self.text)
        self.stats.setText(message)

    def add_proposal(self, memory: Any, replaces: Any = None) -> None:
        """A memory proposed by this turn: pending ones ask, active ones just say so."""
        if memory.status != "pending":
            self.proposals_box.addWidget(label(f"✓ Remembered: “{memory.text}”",
                                               "RememberedNote", wrap=True))
            return
        card = ProposalCard(memory, replaces)
        card.decided.connect(self.memory_decision)
        self.proposals.append(card)
        self.proposals_box.addWidget(card)

    def add_notice(self, text: str) -> None:
        """Something to know about this answer, such as an adapter that is gone."""
        self.proposals_box.addWidget(label("⚠ " + text, "Hint", wrap=True))

    def set_last(self, last: bool) -> None:
        self.regenerate_button.setVisible(last)

    # -- actions -------------------------------------------------------------------------------

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text)

    def _link(self, url: str) -> None:
        number = citation_number(url)
        if number is None:
            if url.startswith(("http://", "https://")):
                open_url(url)
            return
        for n, card in self.cards.items():
            card.set_highlighted(n == number)

