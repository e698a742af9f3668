"""Connections: other apps (MCP clients, OpenAI-compatible clients) using what Loremind holds.

The user registers each app (its token is shown once and kept in the keyring; only its hash is
stored), chooses what it may do, and reads every call in an audit trail. The core's
``connections`` area applies these rules; the servers in ``assistant.connect`` only translate
protocols.
"""
