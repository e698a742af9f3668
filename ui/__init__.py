"""Loremind's PySide6 desktop front end; thin: all logic lives in ``assistant``."""
