"""Fixtures shared by the Connections tests (see tests/connect/support.py)."""

from tests.connect.support import chat_model_2k, connected, file_keyring, served

__all__ = ["chat_model_2k", "connected", "file_keyring", "served"]
