"""Settings → Connections: the switch starts and stops the server for other apps, and the
Connections dialog registers an app (token shown once), edits what it may do, and reads and
clears its log. The logic is the core's (tests/connections); this is the screen on it."""

from __future__ import annotations

import socket

import httpx2
import pytest

from assistant.config import load_settings
from assistant.core import Permissions
from assistant.paths import app_paths
from tests.connect.support import file_keyring  # noqa: F401  (autouse: a file keyring)
from tests.ui.helpers import wait_lanes

pytestmark = pytest.mark.gui


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_switch_in_settings_starts_and_stops_the_server(qtbot, window):
    app = window.app
    _client, token = app.core.connections.register("Script", Permissions())
    dialog = window.open_settings()
    assert not dialog.connect_enabled.isChecked()  # off by default
    port = free_port()
    dialog.connect_enabled.setChecked(True)
    dialog.connect_port.setValue(port)
    assert f"http://127.0.0.1:{port}/v1" in dialog.connect_address.text()
    dialog.save_button.click()
    qtbot.waitUntil(lambda: app.connect_host is not None and bool(app.connect_host.url),
                    timeout=30000)
    saved = load_settings(app_paths().config_file).connect
    assert saved.enabled and saved.port == port and saved.host == "127.0.0.1"
    listed = httpx2.get(f"http://127.0.0.1:{port}/v1/models",
                        headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200

    dialog = window.open_settings()
    dialog.connect_enabled.setChecked(False)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: not app.connect_host.url, timeout=30000)
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"http://127.0.0.1:{port}/v1/models")


def test_the_dialog_registers_edits_and_shows_the_log(qtbot, window):
    from ui.connections_dialog import ConnectionsDialog

    app = window.app
    app.core.connections.switch(True)
    settings_dialog = window.open_settings()
    settings_dialog.show_connections()
    dialog = settings_dialog.connections_dialog
    assert isinstance(dialog, ConnectionsDialog) and dialog.isVisible()
    dialog.name_box.setText("Claude Desktop")
    dialog.register_button.click()
    qtbot.waitUntil(lambda: dialog.token_dialog is not None, timeout=30000)
    token = dialog.token_dialog.token_box.text()
    assert token.startswith("lm-") and dialog.token_dialog.isVisible()
    client = app.core.connections.authenticate(token)
    qtbot.waitUntil(lambda: dialog.selected() is not None, timeout=30000)
    assert dialog.selected().id == client.id
    assert not dialog.read_box.isChecked()  # memories stay private until the user says so

    dialog.read_box.setChecked(True)
    dialog.tool_boxes["embeddings"].setChecked(False)
    dialog.save_button.click()
    wait_lanes(qtbot, window)
    permissions = app.core.connections.client(client.id).permissions
    assert permissions.read_memories and permissions.tools == ("search", "chat")

    app.core.memory.remember("I water the tomatoes at dusk")
    app.core.connections.relevant_memories(client, "When do I water the tomatoes?")
    dialog.refresh_log()
    wait_lanes(qtbot, window)
    assert dialog.log.item(0).text().startswith("Claude Desktop read 1 memory about")
    dialog.clear_button.click()
    wait_lanes(qtbot, window)
    dialog.refresh_log()
    wait_lanes(qtbot, window)
    assert dialog.log.item(0).text() == "No call yet."
    assert app.core.connections.audit() == []

    dialog.enabled_box.setChecked(False)
    dialog.save_button.click()
    wait_lanes(qtbot, window)
    assert dialog.list.item(0).text() == "Claude Desktop   (off)"
    dialog.remove_button.click()
    wait_lanes(qtbot, window)
    assert app.core.connections.clients() == [] and dialog.list.count() == 0


def test_the_memory_panel_shows_which_app_proposed_a_memory(qtbot, window):
    app = window.app
    app.core.connections.switch(True)
    client, _token = app.core.connections.register("Claude Desktop",
                                                   Permissions(propose_memories=True))
    proposed = app.core.connections.propose_memory(client, "I am learning the cello")
    window.show_panel("memory")
    panel = window.panel("memory")
    panel.status.setCurrentIndex(panel.status.findData("pending"))
    wait_lanes(qtbot, window)
    assert panel.list.item(0).text() == \
        "I am learning the cello   (pending)   · from Claude Desktop"
    panel.select(proposed.id)
    wait_lanes(qtbot, window)
    assert panel.history.item(0).text().endswith("proposed by Claude Desktop")
