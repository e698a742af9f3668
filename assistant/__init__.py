"""Loremind's core: engine, knowledge, memory and the assistant facade. Never imports Qt."""

__version__ = "0.1.0"
