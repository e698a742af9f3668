"""The main window over a model on a server (llama_cpp.server running the embedded model): the
answer's footer and the window's subtitle name the server, the Adapters panel says adapters are
local-only for this model."""

from __future__ import annotations

import keyring
import pytest

from assistant.config import RemoteSettings
from assistant.defaults import embedded_chat_model
from assistant.paths import app_paths
from tests.engine.remote_support import LlamaServer, MemoryKeyring
from tests.ui.helpers import wait_lanes
from ui.message_widgets import AssistantMessage
from ui.qt import Qt

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def remote_window(qtbot, embedder, store, settings, errors):
    from assistant.core import Loremind
    from assistant.engine.remote import RemoteModel
    from ui.app import LoremindApp
    from ui.main_window import MainWindow

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    server = LlamaServer(embedded_chat_model(), n_ctx=2048)
    settings.model.engine = "remote"
    settings.model.remote = RemoteSettings(base_url=server.url, context_size=2048)
    model = RemoteModel.connect(settings.model.remote)
    core = Loremind(app_paths(), settings, model=model, embedder=embedder, store=store)
    gui = LoremindApp(core, watch_folders=False)
    main = MainWindow(gui)
    qtbot.addWidget(main)
    main.show()
    with qtbot.waitSignal(gui.ready, timeout=30000):
        gui.start()
    yield main, server
    gui.shutdown()
    server.stop()
    keyring.set_keyring(previous)



def test_the_window_says_which_engine_answered(qtbot, remote_window, errors):
    window, server = remote_window
    root = server.url.removesuffix("/v1")
    assert f"on {root}" in window.header_text(window.subtitle)
    window.chat.composer.edit.setPlainText("What is the capital of France?")
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    wait_lanes(qtbot, window, 60000)
    answer = [t for t in window.chat._turns if isinstance(t, AssistantMessage)][-1]
    qtbot.waitUntil(lambda: "tokens" in answer.stats.text(), timeout=60000)
    assert f"via {root}" in answer.stats.text()
    assert answer.text.strip()
    window.show_panel("adapters")
    wait_lanes(qtbot, window, 60000)
    hint = window.panel("adapters").folder_hint.text()
    assert "local-only for this model" in hint and root in hint
    assert errors == []
