"""One chat turn on screen: the user's bubble, or an answer with its sources, memories and stats."""

from __future__ import annotations

from typing import Any

from assistant.core import (
    answer_stats_line,
    citation_number,
    openable_source,
    snippet_preview,
    source_title,
)
from assistant.errors import LoremindError
from ui import theme
from ui.errors import show_error
from ui.markdown_view import MarkdownBody, open_url
from ui.qt import (
    QDesktopServices,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSize,
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
MIN_BUBBLE_WIDTH = 120  # the narrowest a bubble wraps to, in a narrow window or the popup
COPIED_MS = 1500  # how long "Copied" shows


def tool_button(icon: str, tip: str, parent: QWidget | None = None) -> QToolButton:
    """A flat icon button with a tooltip."""
    button = QToolButton(parent)
    button.setIcon(theme.icon(icon, "muted"))
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


class BubbleText(QLabel):
    """The user's words: as wide as their longest line up to ``BUBBLE_WIDTH``, and narrower
    (wrapping) when the view is narrower, so a long question never pushes the view wider."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setObjectName("MessageText")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._longest = max(self.fontMetrics().horizontalAdvance(line)
                            for line in text.splitlines() or [""])

    def sizeHint(self) -> QSize:
        width = min(self._longest + 4, BUBBLE_WIDTH)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        width = min(self._longest + 4, MIN_BUBBLE_WIDTH)
        return QSize(width, self.heightForWidth(width))


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
        body = BubbleText(text)
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
        title = label(source_title(source), "SourceTitle", wrap=True)
        title.setToolTip(str(source.get("path", "")))
        text.addWidget(title)
        passage = str(source.get("text", ""))
        self._short, cut = snippet_preview(passage)
        self._full = " ".join(passage.split())
        self.snippet = label(self._short, "SourceSnippet", wrap=True)
        self.snippet.setTextFormat(Qt.TextFormat.PlainText)  # a passage is no markup
        text.addWidget(self.snippet)
        # The whole passage on demand: a cut snippet could not show what was cited.
        self.more_button = QToolButton()
        self.more_button.setText("More")
        self.more_button.setToolTip("Show the whole passage")
        self.more_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.expanded = False
        self.more_button.clicked.connect(lambda: self.expand(not self.expanded))
        self.more_button.setVisible(cut)
        text.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.open_button = tool_button("open", "Open the file" if self.path else
                                       "Only files inside watched folders can be opened")
        self.open_button.setEnabled(self.path is not None)
        self.open_button.clicked.connect(self.open_file)
        layout.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)
        layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)

    def open_file(self) -> None:
        """Open the cited file with the desktop's default application."""
        if self.path is not None and not QDesktopServices.openUrl(
                QUrl.fromLocalFile(str(self.path))):
            show_error(self, LoremindError(
                f"No application could open {self.path.name}: choose one for "
                f"“{self.path.suffix or 'these'}” files in your desktop's settings, or open it "
                f"from its folder, {self.path.parent}."))

    def expand(self, expanded: bool) -> None:
        """Show the whole passage, or its first words again."""
        self.expanded = expanded
        self.snippet.setText(self._full if expanded else self._short)
        self.more_button.setText("Less" if expanded else "More")
        self.more_button.setToolTip("Show less of the passage" if expanded
                                    else "Show the whole passage")

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
        layout = self.layout()
        if layout is not None:
            layout.addWidget(label(text, "RememberedNote"))


class AssistantMessage(QWidget):
    """An answer: streamed Markdown, the memories it used, its sources, proposals and stats."""

    regenerate_requested = Signal()
    example_requested = Signal()  # "use as an example" for Teach
    memory_decision = Signal(str, str, str)  # memory id, action, text
    version_requested = Signal(int)  # the user paged to another answer of this turn

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
        # One wrapping line rather than a row of chips: a row is as wide as all its chips.
        self.chips_box = label("", "MemoryChip", wrap=True)
        self.chips_box.hide()
        self.body = MarkdownBody()
        self.body.link_clicked.connect(self._link)
        # Hidden until the answer's first words: sources above an empty answer read as the
        # answer itself.
        self.sources_panel = QWidget()
        self.sources_box = QVBoxLayout(self.sources_panel)
        self.sources_box.setContentsMargins(0, 0, 0, 0)
        self.sources_box.setSpacing(6)
        self.sources_panel.hide()
        self.proposals_box = QVBoxLayout()
        footer = QHBoxLayout()
        self.stats = label("", "StatsLine", wrap=True)
        self.copy_button = tool_button("copy", "Copy the answer")
        self.copy_button.clicked.connect(self.copy)
        self.copied = label("Copied", "CopiedNote")
        self.copied.hide()
        self.regenerate_button = tool_button("refresh", "Answer again (keeps this answer)")
        self.regenerate_button.clicked.connect(self.regenerate_requested)
        self.regenerate_button.setVisible(False)
        self.example_button = tool_button("spark", "Use as an example to teach an adapter "
                                          "(as it is, or your rewrite)")
        self.example_button.clicked.connect(self.example_requested)
        for button in (self.copy_button, self.example_button):
            button.hide()  # until the answer is finished: nothing whole to copy before
        self.previous_button = tool_button("chevron-left", "The previous answer")
        self.page = label("", "StatsLine")
        self.next_button = tool_button("chevron-right", "The next answer")
        self.message_id = ""  # the stored message shown, once known
        self.version = 0  # which of the turn's answers is shown, of ``versions``
        self.versions = 0
        self.previous_button.clicked.connect(lambda: self.version_requested.emit(self.version - 1))
        self.next_button.clicked.connect(lambda: self.version_requested.emit(self.version + 1))
        for widget in (self.previous_button, self.page, self.next_button):
            widget.hide()
        for widget in (self.previous_button, self.page, self.next_button, self.copy_button,
                       self.copied, self.regenerate_button, self.example_button):
            footer.addWidget(widget)
        footer.addWidget(self.stats, 1)
        column.addWidget(self.chips_box)
        column.addWidget(self.body)
        column.addWidget(self.sources_panel)
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
        """Show the numbered sources the answer may cite (replacing any shown)."""
        while self.sources_box.count():
            item = self.sources_box.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        self.cards = {}
        self.body.citations = {int(s.get("number", 0)) for s in sources}
        if sources:
            self.sources_box.addWidget(label("Sources", "SectionLabel"))
        for source in sources:
            card = SourceCard(source, self.folders)
            self.cards[card.number] = card
            self.sources_box.addWidget(card)
        self._show_sources()

    def _show_sources(self) -> None:
        self.sources_panel.setVisible(bool(self.cards) and bool(self.text.strip()))

    def set_memories(self, memories: list[str]) -> None:
        """Show the memories this answer was given, all of them (none: nothing shown)."""
        self.chips_box.setText("   ".join("◆ " + text for text in memories))
        self.chips_box.setToolTip("Memories this answer was given")
        self.chips_box.setVisible(bool(memories))

    def append(self, piece: str) -> None:
        """Add streamed text; the view catches up a few times a second."""
        self.text += piece
        if self.cards and self.sources_panel.isHidden():
            self._show_sources()
        if not self._render_timer.isActive():
            self._render_timer.start()

    def finish(self, text: str, stats: Any = None) -> None:
        """Show the final text and, when given, what the answer cost."""
        self._render_timer.stop()
        self.text = text
        self.body.set_text(text)
        self._show_sources()
        for button in (self.copy_button, self.example_button):
            button.setVisible(bool(text.strip()))
        if isinstance(stats, dict):  # as stored with the message
            self.stats.setText(answer_stats_line(
                int(stats.get("completion_tokens", 0)), float(stats.get("seconds", 0.0)),
                list(stats.get("adapters", [])), str(stats.get("finish_reason", "")),
                str(stats.get("engine", ""))))
        elif stats is not None:
            self.stats.setText(answer_stats_line(stats.completion_tokens, stats.seconds,
                                                 stats.adapters, stats.finish_reason,
                                                 stats.engine))

    def set_versions(self, count: int, current: int) -> None:
        """Show ``‹ 2/3 ›`` when the turn was answered more than once."""
        self.version, self.versions = current, count
        for widget in (self.previous_button, self.page, self.next_button):
            widget.setVisible(count > 1)
        self.page.setText(f"{current + 1}/{count}")
        self.previous_button.setEnabled(current > 0)
        self.next_button.setEnabled(current < count - 1)

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
        """Put the answer on the clipboard and say so for a moment."""
        QGuiApplication.clipboard().setText(self.text)
        self.copy_button.setIcon(theme.icon("check", "success"))
        self.copied.show()

        def back() -> None:
            self.copy_button.setIcon(theme.icon("copy", "muted"))
            self.copied.hide()

        QTimer.singleShot(COPIED_MS, back)

    def _link(self, url: str) -> None:
        number = citation_number(url)
        if number is None:
            if url.startswith(("http://", "https://")):
                open_url(url)
            return
        for n, card in self.cards.items():
            card.set_highlighted(n == number)

