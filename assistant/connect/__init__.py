"""Loremind for other apps: an MCP server (stdio, and HTTP on a local port) and an
OpenAI-compatible API, both front ends of the core.

They only authenticate, translate a protocol and stream: what an app may do, and the record of
what it did, is the core's ``connections`` area, which the GUI and the CLI control too.
"""
