"""Icons and stylesheets from ``resources/``: light or dark, or following the system."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ui.qt import (
    QApplication,
    QColor,
    QGuiApplication,
    QIcon,
    QPainter,
    QPalette,
    QPixmap,
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
    icon.cache_clear()
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


@cache
def icon(name: str, token: str = "text", size: int = 20) -> QIcon:
    """``resources/icons/<name>.svg`` drawn in a palette colour (SVGs use currentColor)."""
    svg = resource("icons", f"{name}.svg").read_text(encoding="utf-8")
    renderer = QSvgRenderer(svg.replace("currentColor", colour(token)).encode())
    pixmaps = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(size * scale, size * scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        pixmaps.addPixmap(pixmap)
    return pixmaps


def logo() -> QIcon:
    """The application icon."""
    return QIcon(str(resource("icons", "logo.svg")))


def qcolor(token: str) -> QColor:
    return QColor(colour(token))
