"""Linux desktop integration for the current user: menu entry, icons, metainfo, autostart.

Follows the XDG base-directory spec, so nothing needs root and ``uninstall`` removes exactly what
``install`` wrote. The templates live in ``packaging/linux`` and ``resources/icons`` next to the
package (a source checkout or the PyInstaller bundle).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import LoremindError

APP_ID = "app.loremind.Loremind"
ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "packaging" / "linux"
ICON_SVG = ROOT / "resources" / "icons" / "logo.svg"
ICON_PNG = ROOT / "resources" / "icons" / "logo-256.png"


@dataclass(frozen=True)
class DesktopFiles:
    """Where the desktop integration files of the current user go."""

    desktop_entry: Path
    metainfo: Path
    icon_svg: Path
    icon_png: Path
    autostart: Path

    def all(self) -> list[Path]:
        return [self.desktop_entry, self.metainfo, self.icon_svg, self.icon_png, self.autostart]


def desktop_files() -> DesktopFiles:
    """The target paths under $XDG_DATA_HOME and $XDG_CONFIG_HOME (or their defaults)."""
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    icons = data / "icons" / "hicolor"
    return DesktopFiles(
        desktop_entry=data / "applications" / f"{APP_ID}.desktop",
        metainfo=data / "metainfo" / f"{APP_ID}.metainfo.xml",
        icon_svg=icons / "scalable" / "apps" / f"{APP_ID}.svg",
        icon_png=icons / "256x256" / "apps" / f"{APP_ID}.png",
        autostart=config / "autostart" / f"{APP_ID}.desktop",
    )


def launcher_command() -> str:
    """The command that starts this installation of Loremind, for ``Exec=`` lines."""
    if getattr(sys, "frozen", False):  # the PyInstaller bundle
        return shlex.quote(str(Path(sys.executable).resolve()))
    script = Path(sys.argv[0]).resolve()
    if script.name == "loremind" and script.is_file():
        return shlex.quote(str(script))
    found = shutil.which("loremind")
    if found:
        return shlex.quote(str(Path(found).resolve()))
    return f"{shlex.quote(sys.executable)} -m assistant"


def install_desktop(autostart: bool = False) -> list[Path]:
    """Install the menu entry, icons and metainfo (and the autostart entry when asked)."""
    files = desktop_files()
    command = launcher_command()
    try:
        entry = (TEMPLATES / f"{APP_ID}.desktop").read_text(encoding="utf-8")
        entry = entry.replace("Exec=loremind", f"Exec={command}")
        written = [
            _write(files.desktop_entry, entry),
            _copy(TEMPLATES / f"{APP_ID}.metainfo.xml", files.metainfo),
            _copy(ICON_SVG, files.icon_svg),
            _copy(ICON_PNG, files.icon_png),
        ]
        if autostart:
            # Started with the session: straight to the tray, no window in the user's face.
            autostart_entry = entry.replace(f"Exec={command} %F", f"Exec={command} --minimized")
            written.append(_write(files.autostart, autostart_entry +
                                  "X-GNOME-Autostart-enabled=true\n"))
        elif files.autostart.exists():
            files.autostart.unlink()
    except OSError as exc:
        raise LoremindError(f"Could not install the desktop entry: {exc}") from exc
    return written


def uninstall_desktop() -> list[Path]:
    """Remove every file :func:`install_desktop` may have written; returns those removed."""
    removed = []
    for path in desktop_files().all():
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def _write(target: Path, text: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
