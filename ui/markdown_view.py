"""Answer text on screen: Markdown prose, highlighted code blocks with a copy button.

The text is split by :mod:`assistant.chat.rendering`; this module only draws the pieces, and
re-uses the widgets of unchanged pieces so that streaming an answer stays cheap.
"""

from __future__ import annotations

from functools import cache

from assistant.core import Block, keep_line_breaks, link_citations, split_blocks
from ui import theme
from ui.qt import (
    QFont,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QResizeEvent,
    QSizePolicy,
    Qt,
    QTextBrowser,
    QTimer,
    QToolButton,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)


class FittedBrowser(QTextBrowser):
    """A read-only rich-text view exactly as tall as its text, so a scroll area can stack many."""

    link_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None, wrap: bool = True) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff if wrap
                                          else Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        if not wrap:
            self.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.anchorClicked.connect(lambda url: self.link_clicked.emit(url.toString()))

    def _fit(self) -> None:
        height = int(self.document().size().height()) + 4
        bar = self.horizontalScrollBar()
        if self.lineWrapMode() == QTextBrowser.LineWrapMode.NoWrap and (
                self.document().idealWidth() > self.viewport().width()):
            height += bar.sizeHint().height()
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def show_markdown(self, markdown: str) -> None:
        """Show ``markdown`` the same way whether the view is new or has been on screen.

        Qt's Markdown reader spaces paragraphs by the document font's *point* size, read at
        each call: before the stylesheet reached the view that was the application font's
        (paragraphs apart), after it a pixel size, which has no point size (paragraphs run
        together). So a streamed answer, drawn again into a view on screen, lost the spacing
        the same answer had when its chat was reopened. The view is styled first, and reads
        with the pixel size given as points.
        """
        self.ensurePolished()
        document = self.document()
        font = document.defaultFont()
        if font.pointSize() > 0:
            document.setMarkdown(markdown)
            return
        sized = QFont(font)
        sized.setPointSizeF(font.pixelSize() * 72 / self.logicalDpiY())
        document.clear()  # not laid out again in the borrowed font
        document.setDefaultFont(sized)
        document.setMarkdown(markdown)
        document.setDefaultFont(font)


@cache
def _formatter(dark: bool) -> object:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(noclasses=True, nowrap=True,
                         style="github-dark" if dark else "default")


def highlight_html(code: str, language: str, dark: bool) -> str:
    """``code`` as HTML with inline colours, for a QTextDocument."""
    from pygments import highlight
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    body = highlight(code, lexer, _formatter(dark))
    return f'<pre style="margin:0; white-space:pre">{body}</pre>'


class CodeBlockView(QFrame):
    """One fenced code block: its language, a copy button, and the highlighted code."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CodeBlock")
        self._code = ""
        self._language = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(4)
        header = QHBoxLayout()
        self.language_label = QLabel()
        self.language_label.setObjectName("CodeHeader")
        self.copy_button = QToolButton()
        self.copy_button.setIcon(theme.icon("copy", "muted"))
        self.copy_button.setToolTip("Copy the code")
        self.copy_button.clicked.connect(self.copy)
        header.addWidget(self.language_label)
        header.addStretch()
        header.addWidget(self.copy_button)
        layout.addLayout(header)
        self.view = FittedBrowser(self, wrap=False)
        self.view.setObjectName("CodeText")
        layout.addWidget(self.view)

    @property
    def code(self) -> str:
        return self._code

    def show_block(self, block: Block) -> None:
        """Show ``block``'s code, highlighted (skipped when nothing changed)."""
        if (block.text, block.language) == (self._code, self._language):
            return
        self._code, self._language = block.text, block.language
        self.language_label.setText(block.language or "code")
        self.view.setHtml(highlight_html(block.text, block.language, theme.is_dark()))

    def copy(self) -> None:
        """Put the code on the clipboard and say so for a moment."""
        QGuiApplication.clipboard().setText(self._code)
        self.copy_button.setIcon(theme.icon("check", "success"))
        QTimer.singleShot(1200, lambda: self.copy_button.setIcon(theme.icon("copy", "muted")))


class MarkdownBody(QWidget):
    """An answer's text as a column of prose views and code blocks."""

    link_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        self._pieces: list[tuple[str, QWidget, str]] = []  # (kind, widget, what it shows)
        self.citations: set[int] = set()

    def set_text(self, text: str) -> None:
        """Show ``text``; widgets of pieces that did not change are kept as they are."""
        blocks = split_blocks(text)
        for index, block in enumerate(blocks):
            if index < len(self._pieces) and self._pieces[index][0] != block.kind:
                self._drop_from(index)
            if index >= len(self._pieces):
                self._pieces.append((block.kind, self._new_widget(block.kind), ""))
            kind, widget, shown = self._pieces[index]
            # The sources change what a prose piece shows too: its citations become links.
            showing = f"{block.language}\0{sorted(self.citations)}\0{block.text}"
            if shown == showing:
                continue
            if isinstance(widget, CodeBlockView):
                widget.show_block(block)
            elif isinstance(widget, FittedBrowser):
                widget.show_markdown(keep_line_breaks(link_citations(block.text,
                                                                     self.citations)))
            self._pieces[index] = (kind, widget, showing)
        self._drop_from(len(blocks))

    def code_blocks(self) -> list[CodeBlockView]:
        return [w for _, w, _ in self._pieces if isinstance(w, CodeBlockView)]

    def _new_widget(self, kind: str) -> QWidget:
        if kind == "code":
            widget: QWidget = CodeBlockView(self)
        else:
            widget = FittedBrowser(self)
            widget.setObjectName("MessageText")
            widget.link_clicked.connect(self.link_clicked)
        self._layout.addWidget(widget)
        return widget

    def _drop_from(self, index: int) -> None:
        for _, widget, _ in self._pieces[index:]:
            widget.setParent(None)
            widget.deleteLater()
        del self._pieces[index:]


def open_url(url: str) -> None:
    """Open a web link from an answer in the browser."""
    from ui.qt import QDesktopServices

    QDesktopServices.openUrl(QUrl(url))
