"""Choose the engine from the settings: llama.cpp in this process, or an OpenAI-compatible server.

The application core calls :func:`open_engine` where it used to call ``LocalModel.from_settings``,
and :func:`open_adapters` where it built an ``AdapterLibrary``; both return objects the facade
uses without knowing which engine it has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.config import AdapterSettings, ModelSettings
from assistant.paths import AppPaths

if TYPE_CHECKING:
    from assistant.engine.adapters import AdapterLibrary
    from assistant.engine.protocol import ChatEngine
    from assistant.engine.remote_adapters import RemoteAdapters


def open_engine(settings: ModelSettings, seed: int = -1) -> ChatEngine:
    """The engine the settings choose: a RemoteModel when ``engine = "remote"``, else the local
    GGUF model loaded with llama.cpp."""
    if settings.engine == "remote":
        from assistant.engine.remote import RemoteModel

        return RemoteModel.connect(settings.remote)
    from assistant.engine.model import LocalModel

    return LocalModel.from_settings(settings, seed=seed)


def open_adapters(model: ChatEngine, paths: AppPaths, settings: AdapterSettings,
                  model_settings: ModelSettings) -> AdapterLibrary | RemoteAdapters:
    """The adapters a chat can use on ``model``: hot-swapped locally, or what its server
    supports."""
    from assistant.engine.remote import RemoteModel

    if isinstance(model, RemoteModel):
        from assistant.engine.remote_adapters import RemoteAdapters

        return RemoteAdapters.for_model(model, model_settings.remote)
    from assistant.engine.adapters import AdapterLibrary
    from assistant.engine.model import LocalModel

    assert isinstance(model, LocalModel)
    return AdapterLibrary.for_model(model, paths, settings)
