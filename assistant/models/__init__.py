"""Models: the shipped catalogue (chat models, embedders, rerankers), downloads from the Hugging
Face hub, the chat model in use."""

from __future__ import annotations

from pathlib import Path

from assistant.config import Settings
from assistant.models.catalogue import Catalogue, CatalogueEntry, Machine, load_catalogue
from assistant.models.download import Progress
from assistant.models.manager import InstalledModel, ModelManager, ModelProfile, ModelRow
from assistant.models.retrieval_rows import RetrievalRow

__all__ = ["Catalogue", "CatalogueEntry", "InstalledModel", "Machine", "ModelManager",
           "ModelProfile", "ModelRow", "Progress", "RetrievalRow", "load_catalogue",
           "uses_embedded_demo"]


def uses_embedded_demo(settings: Settings) -> bool:
    """Whether the settings run the small embedded demo model (no path, or its own file)."""
    if not settings.model.path:
        return True
    from assistant.defaults import CHAT_MODEL_FILE

    return Path(settings.model.path).name == CHAT_MODEL_FILE
