"""The baselines of ``bench startup``: what the app's two milestones cost with nothing of the app.

Each runs in a process of its own, launched and timed exactly as the app is, and prints the
same ``event seconds detail`` lines:

* :data:`BARE_WINDOW`: QApplication and an empty QMainWindow of the app's size, shown; it says
  ``window_shown`` once the window's first expose has been handled (Qt paints and flushes the
  first frame while handling it), as the app does. It is script text for ``python -c``, since
  the core never imports Qt.
* ``python -m assistant.bench.startup_baseline JOB``: llama-cpp-python alone loads the same GGUF
  with the app's context size and threads, and streams an answer to the same messages (the
  default system prompt and the question) through its chat API, as a user of the library
  would; it says ``model_ready``, then ``first_token`` at the first chunk that holds text.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

BARE_WINDOW = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QSize, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

started = time.perf_counter()
app = QApplication(sys.argv)
window = QMainWindow()
window.resize(window.screen().availableGeometry().size().boundedTo(QSize(1280, 820)))


def say():
    print(f"platform {time.perf_counter() - started:.4f} {app.platformName()}", flush=True)
    print(f"window_shown {time.perf_counter() - started:.4f}", flush=True)
    app.quit()


class FirstFrame(QObject):
    seen = False

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Expose and watched.isExposed() and not self.seen:
            self.seen = True
            QTimer.singleShot(0, say)
        return False


window.show()
first_frame = FirstFrame()
window.windowHandle().installEventFilter(first_frame)
sys.exit(app.exec())
"""


def model_alone_job(model_path: Path, context_size: int, threads: int, system_prompt: str,
                    question: str) -> str:
    """The command-line argument of the model-alone baseline."""
    return json.dumps({"path": str(model_path), "n_ctx": context_size,
                       "n_threads": threads or os.cpu_count() or 1,
                       "messages": [{"role": "system", "content": system_prompt},
                                    {"role": "user", "content": question}]})


def first_token(job: dict[str, Any]) -> None:
    """Load the model and stream the answer until its first text; report both moments."""
    started = time.perf_counter()

    def say(event: str, detail: str = "") -> None:
        print(f"{event} {time.perf_counter() - started:.4f} {detail}".rstrip(), flush=True)

    import llama_cpp

    llama = llama_cpp.Llama(model_path=job["path"], n_ctx=job["n_ctx"],
                            n_threads=job["n_threads"], n_threads_batch=job["n_threads"],
                            n_gpu_layers=-1, verbose=False)
    say("model_ready")
    chunks: Any = llama.create_chat_completion(messages=job["messages"], stream=True)
    for chunk in chunks:
        if chunk["choices"][0]["delta"].get("content"):  # the first chunk names the role only
            say("first_token")
            return
    say("failed", "The model gave an empty answer.")


if __name__ == "__main__":
    first_token(json.loads(sys.argv[1]))
