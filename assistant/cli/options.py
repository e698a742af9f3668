"""Options shared by several commands; light to import (no llama.cpp, no LanceDB), so that
``ask --popup`` hands over to a running app at once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from assistant.errors import AdapterError

MODEL_OPTION = click.option(
    "--model", "model_path", type=click.Path(path_type=Path), default=None,
    help="A GGUF model file (default: the one in the settings, else the embedded SmolLM2).",
)
ADAPTER_OPTION = click.option(
    "--adapter", "adapters", multiple=True, metavar="NAME[:SCALE]",
    help="Apply a LoRA adapter from the adapters folder, at SCALE (default 1); repeatable.",
)


def parse_adapter_specs(specs: Sequence[str]) -> list[tuple[str, float]]:
    """Turn ``NAME[:SCALE]`` strings into (name, scale) pairs; a bare name means scale 1."""
    parsed = []
    for spec in specs:
        name, colon, scale_text = spec.rpartition(":")
        try:
            scale = float(scale_text) if colon else 1.0
        except ValueError:  # a colon inside the name (a Windows path), not a scale
            colon = ""
        if not colon:
            name, scale = spec, 1.0
        if not name.strip():
            raise AdapterError(f"'--adapter {spec}' names no adapter; write NAME or NAME:SCALE.")
        parsed.append((name, scale))
    return parsed
