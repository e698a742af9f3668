"""Run the real app in a real X session (Xvfb + a window manager) and check its layout.

Usage (DISPLAY set to a running X server with a window manager, LOREMIND_HOME to a fresh
folder): ``python -m tests.ui.layout_probe RESULT.json [SHOTS_FOLDER]``.

It indexes a small folder, opens the main window with the Knowledge panel, gets a long answer
with four sources, asks quick ask two questions and continues that chat in the main window,
checking after each step that no window is larger than the screen, no text is cut and no chat
is wider than its view. With SHOTS_FOLDER it also types like a user (xdotool) and saves
screenshots of the whole screen: the cited answer, quick ask, the dark theme with each panel,
the shortcut sheet and an exported chat in a Markdown viewer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from assistant.bench.synthetic import write_tiny_model
from assistant.config import Settings
from assistant.defaults import force_offline
from assistant.paths import app_paths
from tests.ui.layout_checks import cut_texts, off_screen, overflowing_views

LONG_ANSWER = (
    "Brew espresso at **93 °C** [1]. Below 90 °C the shot tastes sour and above 96 °C it turns "
    "bitter [1], so check the group head after descaling.\n\n"
    "For a double shot:\n\n"
    "1. Dose 18 grams of finely ground coffee [2].\n"
    "2. Pull 36 grams of espresso in 27 to 30 seconds [2].\n"
    "3. Taste it: sour means grind finer, bitter means grind coarser [3].\n\n"
    "```bash\ncurl -s http://localhost:8080/api/v1/machines/aurora-group-head/temperature?"
    "unit=celsius&window=15m\n```\n\n"
    "The beans come from Kiboko Roasters in Nairobi every Tuesday, and the café opens at "
    "7:30 on weekdays [4]. " * 2)
# ASCII only: xdotool drops characters the Xvfb keymap lacks ("café" arrived as "caf").
QUESTIONS = ("At what temperature should we brew espresso, and for how long?",
             "And which supplier delivers the beans, on which day of the week, and is the "
             "delivery ever late when the cafe opens early on a weekday morning?")


def write_documents(folder: Path) -> None:
    """Four documents with long names and headings, so that answers cite four sources."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "espresso-brewing-guide-for-the-aurora-cafe-team.md").write_text(
        "# Espresso guide\n\n## Brewing temperature for the Aurora group head\n\nThe Aurora "
        "café brews espresso at 93 °C. Below 90 °C the shot tastes sour; above 96 °C it "
        "turns bitter.\n")
    (folder / "dose-and-timing.md").write_text(
        "# Dose\n\n## Double shot recipe and timing\n\nUse 18 grams of coffee for a 36 gram "
        "double shot of espresso, pulled in 27 to 30 seconds.\n")
    (folder / "tasting-notes.txt").write_text(
        "Espresso tasting: sour means grind finer, bitter means grind coarser. Taste every "
        "shot after changing the grinder.\n")
    (folder / "suppliers-and-opening-hours.md").write_text(
        "# Suppliers\n\nBeans for espresso come from Kiboko Roasters in Nairobi, delivered "
        "every Tuesday. The café opens at 7:30 on weekdays.\n")


class Probe:
    """The app under test and the checks made on it."""

    def __init__(self, shots: Path | None) -> None:
        self.shots = shots
        self.problems: dict[str, list[str]] = {}
        self.sizes: dict[str, list[int]] = {}

    # -- running the event loop ----------------------------------------------------------------

    def wait(self, condition: Any = lambda: True, timeout: float = 300.0) -> None:
        from ui.qt import QApplication

        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit("timed out waiting for the app")
            QApplication.processEvents()
            time.sleep(0.02)
        for _ in range(25):
            QApplication.processEvents()
            time.sleep(0.01)

    def idle(self) -> bool:
        tasks = self.app.tasks
        return not any(tasks.is_busy(lane) for lane in ("model", "db", "index"))

    def user(self, *args: str) -> None:
        """Type or press keys through the X server, as a person would."""
        process = subprocess.Popen(["xdotool", *args])
        self.wait(lambda: process.poll() is not None, 60)

    def shot(self, name: str) -> None:
        if self.shots is None:
            return
        from ui.qt import QGuiApplication

        self.wait()
        QGuiApplication.primaryScreen().grabWindow(0).save(str(self.shots / name))
        print("saved", self.shots / name, flush=True)

    def check(self, step: str, window: Any) -> None:
        """Record what is wrong with ``window`` now."""
        self.wait()
        found = off_screen(window) + cut_texts(window) + overflowing_views(window)
        self.problems[step] = found
        frame = window.frameGeometry()
        self.sizes[step] = [frame.width(), frame.height()]

    # -- the scenario --------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from assistant.core import Loremind
        from ui.app import LoremindApp
        from ui.main_window import MainWindow
        from ui.qt import QApplication
        from ui.theme import apply_theme, logo

        force_offline()
        paths = app_paths().ensure()
        docs = paths.data_dir.parent / "Cafe notes"
        write_documents(docs)
        settings = Settings()
        settings.model.context_size = 2048
        if self.shots is None:  # the checks need layout, not sense: a tiny model is quick
            settings.model.path = str(write_tiny_model(paths.cache_dir / "tiny.gguf",
                                                       context=2048))
            settings.generation.max_tokens = 24
        else:
            settings.generation.max_tokens = 120
        self.qt = QApplication.instance() or QApplication(sys.argv[:1])
        apply_theme(self.qt, "light")
        self.qt.setWindowIcon(logo())
        core = Loremind(paths, settings)
        self.app = LoremindApp(core, watch_folders=False)
        self.window = MainWindow(self.app)
        self.window.show()
        self.app.start()
        self.wait(lambda: self.app.is_ready and self.idle())
        core.memory.remember("I prefer answers in metric units")
        self.window.show_panel("knowledge")
        self.window.panel("knowledge").add_folder(str(docs))
        self.wait(lambda: self.idle() and bool(self.window.panel("knowledge").cards))
        self.check("main window at start", self.window)
        self.ask_in(self.window, QUESTIONS[0])
        self.long_answer(self.window.chat)
        self.check("main window, Knowledge panel, long answer with four sources", self.window)
        bar = self.window.chat.scroll_area.verticalScrollBar()
        bar.setValue(bar.maximum())  # as a reader would: down to the source cards
        self.shot("1-main-knowledge-cited-answer.png")
        self.quick_ask()
        self.dark_panels()
        self.shortcut_sheet()
        self.exported_chat()
        self.app.shutdown()
        return {"problems": self.problems, "sizes": self.sizes,
                "screen": [self.window.screen().availableGeometry().width(),
                           self.window.screen().availableGeometry().height()]}

    def ask_in(self, window: Any, question: str) -> None:
        chat = window.chat
        window.activateWindow()
        chat.composer.edit.setFocus()
        self.wait()
        if self.shots is not None:
            self.user("type", "--delay", "8", question)
            self.user("key", "Return")
        else:
            chat.composer.edit.setPlainText(question)
            chat.send(chat.composer.text)
        self.wait(lambda: not chat.busy and self.idle())

    def long_answer(self, chat: Any) -> None:
        """A long answer citing four sources, through the chat's own event path."""
        from assistant.chat.events import AnswerStats
        from assistant.core import Citation

        files = sorted(Path(app_paths().data_dir.parent / "Cafe notes").iterdir())
        citations = [Citation(n, str(path), 0, "Brewing temperature for the Aurora group "
                              "head" if n == 1 else path.stem.replace("-", " ").title(),
                              path.read_text(), 0.9) for n, path in enumerate(files, 1)]
        answer = chat._new_answer()
        answer.set_sources([c.to_json() for c in citations])
        for index, piece in enumerate(LONG_ANSWER.split(" ")):
            answer.append(piece + " ")
            if index % 10 == 0:  # let it lay out mid-stream, as a streamed answer does
                self.wait()
        answer.finish(LONG_ANSWER, AnswerStats(completion_tokens=212, seconds=9.8,
                                               finish_reason="stop"))
        self.wait()

    def quick_ask(self) -> None:
        from ui.quick_ask import QuickAskPopup

        popup = QuickAskPopup(self.app)
        popup.open_near(None)
        for question in QUESTIONS:
            self.ask_in(popup, question)
        self.check("quick ask after two questions", popup)
        answers = [t for t in popup.chat._turns if type(t).__name__ == "AssistantMessage"]
        if answers and answers[-1].body.visibleRegion().isEmpty():
            self.problems["quick ask after two questions"].append(
                "the last answer's text is scrolled out of view")
        self.shot("2-quick-ask-two-questions.png")
        session = popup.chat.session
        popup.continue_in_main()  # what the desktop shell connects: the window takes the chat
        self.window.show_chat(session)
        self.check("main window after Open in main window", self.window)

    def dark_panels(self) -> None:
        from ui.main_window import MainWindow
        from ui.theme import apply_theme

        apply_theme(self.qt, "dark")
        session = self.window.chat.session
        self.window.hide()
        self.window = MainWindow(self.app)  # built afresh: its icons take the dark palette
        self.window.show()
        self.window._ready()
        self.window.set_status("Ready", False)  # the app said so before this window existed
        self.window.show_chat(session)
        from ui.main_window import PANELS

        for key, _name in PANELS:
            self.window.show_panel(key)
            self.wait(self.idle)
            self.check(f"dark theme, {key} panel", self.window)
            self.shot(f"3-dark-{key}.png")
        self.window.show_panel(None)

    def shortcut_sheet(self) -> None:
        from ui.shortcuts import ShortcutSheet

        self.window.activateWindow()
        self.wait()
        if self.shots is not None:
            self.user("key", "ctrl+slash")
        else:
            self.window.show_shortcuts()
        self.wait(lambda: self.window.findChild(ShortcutSheet) is not None, 20)
        sheet = self.window.findChild(ShortcutSheet)
        self.check("shortcut sheet", sheet)
        self.shot("4-shortcut-sheet.png")
        sheet.reject()
        dialog = self.window.open_chat_settings()
        self.check("this chat's settings", dialog)
        self.shot("4-chat-settings.png")
        dialog.reject()

    def exported_chat(self) -> None:
        from ui.qt import QTextBrowser

        target = app_paths().data_dir.parent / "exported-chat.md"
        self.window.export_chat(str(target))
        self.wait(lambda: target.exists() and self.idle(), 30)
        viewer = QTextBrowser()
        viewer.setWindowTitle(f"{target.name} — Markdown viewer")
        viewer.setMarkdown(target.read_text(encoding="utf-8"))
        viewer.resize(900, 700)
        viewer.show()
        self.check("exported chat in a viewer", viewer)
        self.shot("5-exported-chat-in-viewer.png")
        viewer.close()


def main() -> None:
    result_file = Path(sys.argv[1])
    shots = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    result = Probe(shots).run()
    result_file.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
