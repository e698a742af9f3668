"""Options shared by several commands; light to import (no llama.cpp, no LanceDB), so that
``ask --popup`` hands over to a running app at once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import click

from assistant.errors import AdapterError

MAX_ADAPTER_SCALE = 100.0  # beyond, the adapter swamps the model: a typo, not a wish

MODEL_OPTION = click.option(
    "--model", "model_path", type=click.Path(path_type=Path), default=None,
    help="A GGUF model file (default: the one in the settings, else the embedded SmolLM2).",
)
ENGINE_OPTION = click.option(
    "--engine", "engine_url", default=None, metavar="URL",
    help="Answer with the OpenAI-compatible server at URL (e.g. http://127.0.0.1:8080/v1) "
         "instead of the engine in the settings; 'local' for the in-process model.",
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
        if not math.isfinite(scale) or abs(scale) > MAX_ADAPTER_SCALE:
            raise AdapterError(f"'--adapter {spec}': the scale must be a number between "
                               f"-{MAX_ADAPTER_SCALE:g} and {MAX_ADAPTER_SCALE:g}.")
        parsed.append((name, scale))
    return parsed
