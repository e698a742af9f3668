"""Icons and stylesheets from ``resources/``: light or dark, or following the system."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ui.qt import (
    QApplication,
    QColor,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPixmap,
    QRect,
    QSize,
    QStyleOption,
    QSvgRenderer,
    Qt,
)

RESOURCES = Path(__file__).resolve().parent / "resources"  # the top-level resources/, linked
_state = {"palette": "light"}


def resource(*parts: str) -> Path:
    """A file under ``resources/``."""
    return RESOURCES.joinpath(*parts)


@cache
def read_palette(name: str) -> dict[str, str]:
    """The colours of ``light`` or ``dark`` as {token: "#rrggbb"}."""
    colours: dict[str, str] = {}
    for line in resource("styles", f"{name}.palette").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            colours[key.strip()] = value.strip()
    return colours


def stylesheet(name: str) -> str:
    """``app.qss`` with the palette's colours filled in (longest token names first)."""
    qss = resource("styles", "app.qss").read_text(encoding="utf-8")
    palette = {**read_palette(name), "icons": resource("icons").as_posix()}
    for key in sorted(palette, key=len, reverse=True):
        qss = qss.replace(f"@{key}", palette[key])
    return qss


def resolve_appearance(appearance: str) -> str:
    """``light`` or ``dark``: the setting, or the system's colour scheme for ``system``."""
    if appearance in ("light", "dark"):
        return appearance
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication, appearance: str) -> str:
    """Style the whole application; returns the palette used."""
    name = resolve_appearance(appearance)
    _state["palette"] = name
    app.setStyle("Fusion")
    app.setStyleSheet(stylesheet(name))
    app.setPalette(qt_palette(name))
    return name


def qt_palette(name: str) -> QPalette:
    """Qt's palette in the theme's colours: what the stylesheet does not reach (scroll area
    viewports, the tray's fallback balloon, tooltips of native parts) follows the theme too."""
    colours = read_palette(name)
    palette = QPalette()
    role = QPalette.ColorRole
    for roles, token in (
            ((role.Window, role.Base, role.Button), "bg"),
            ((role.AlternateBase, role.ToolTipBase), "surface"),
            ((role.WindowText, role.Text, role.ButtonText, role.ToolTipText, role.BrightText),
             "text"),
            ((role.PlaceholderText,), "muted"),
            ((role.Highlight, role.Link), "accent"),
            ((role.HighlightedText,), "accent_text"),
            ((role.Mid, role.Midlight, role.Dark), "border")):
        for which in roles:
            palette.setColor(which, QColor(colours[token]))
    for which in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, which, QColor(colours["muted"]))
    return palette


def is_dark() -> bool:
    """Whether the dark palette is in use."""
    return _state["palette"] == "dark"


def colour(token: str) -> str:
    """A colour of the current palette, for the few places a stylesheet cannot reach."""
    return read_palette(_state["palette"])[token]


def icon(name: str, token: str = "text") -> QIcon:
    """``resources/icons/<name>.svg`` in a palette colour (SVGs use currentColor), drawn in the
    palette in use whenever it is painted: a theme switch redraws every icon with the rest."""
    return QIcon(_ThemedIcon(name, token))


class _ThemedIcon(QIconEngine):
    """An SVG icon that picks its colour from the theme at paint time, not when it was made
    (icons drawn once stayed in the old theme's colours after a switch, nearly invisible)."""

    def __init__(self, name: str, token: str) -> None:
        super().__init__()
        self._name, self._token = name, token

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        drawn = _drawn(self._name, self._token, _state["palette"], size.width(), size.height())
        if mode != QIcon.Mode.Disabled or QApplication.instance() is None:
            return drawn
        option = QStyleOption()
        return QApplication.style().generatedIconPixmap(mode, drawn, option)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        painter.drawPixmap(rect, self.pixmap(rect.size(), mode, state))

    def clone(self) -> QIconEngine:
        return _ThemedIcon(self._name, self._token)


@cache
def _drawn(name: str, token: str, palette: str, width: int, height: int) -> QPixmap:
    svg = resource("icons", f"{name}.svg").read_text(encoding="utf-8")
    colour_now = read_palette(palette)[token]
    renderer = QSvgRenderer(svg.replace("currentColor", colour_now).encode())
    pixmap = QPixmap(max(1, width), max(1, height))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter)
    painter.end()
    return pixmap


def logo() -> QIcon:
    """The application icon."""
    return QIcon(str(resource("icons", "logo.svg")))


def qcolor(token: str) -> QColor:
    return QColor(colour(token))
