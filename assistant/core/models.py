"""The models area: which chat model is in use, loading and switching it, and what this
llama.cpp build can do. Switching loads the new model first and swaps it in only when it
loaded, so a bad file never leaves the app without a model."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.core.changes import Area, Change
from assistant.defaults import embedded_chat_model

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.core.app import Loremind
    from assistant.engine.gguf_file import GGUFFile
    from assistant.engine.model import LoadReport
    from assistant.models import ModelManager, RetrievalRow


class ModelsArea:
    """The chat model of the core, and the model manager (catalogue, downloads, installed)."""

    def __init__(self, core: Loremind) -> None:
        self._core = core

    @functools.cached_property
    def manager(self) -> ModelManager:
        """Catalogue, downloads and installed models; choosing one saves the settings through
        the core, so the change is announced (and the GUI reloads the model)."""
        from assistant.models import ModelManager

        core = self._core

        def save(settings: Settings) -> None:
            core.settings.update(settings)

        return ModelManager(core.paths, load=lambda: core.current_settings, save=save)

    def retrieval_models(self, kind: str) -> list[RetrievalRow]:
        """The catalogue's embedders or rerankers (``kind``) with fit and whether each is
        downloaded (``manager.pull`` downloads one, as it does a chat model)."""
        return self.manager.retrieval_rows(kind)

    def model_file(self, path: Path | str | None = None) -> Path:
        """The GGUF file ``path`` names, else the one in the settings, else the embedded one."""
        if path:
            return Path(path).expanduser()
        configured = self._core.current_settings.model.path
        return Path(configured).expanduser() if configured else embedded_chat_model()

    def header(self, path: Path | str | None = None) -> GGUFFile:
        """What a model file says about itself, checked before llama.cpp would see it
        (raises ModelError with what to do)."""
        from assistant.engine.gguf_file import validate_model_file  # imports llama.cpp

        return validate_model_file(self.model_file(path))

    def template_note(self, path: Path | str | None = None) -> str:
        """What to say about a model file without a chat template (probably a base model);
        "" when it has one. Raises ModelError for a file that is no model at all."""
        return self.header(path).template_note

    @property
    def is_demo(self) -> bool:
        """Whether the model in use is the small embedded demo model."""
        try:
            return self.model_file() == embedded_chat_model()
        except Exception:
            return False

    @property
    def loaded_name(self) -> str | None:
        """The file name of the loaded model (a server's model: its name and the server);
        None while none is loaded."""
        from assistant.engine.model import LocalModel

        model = self._core.parts.loaded_model
        if model is None:
            return None
        if isinstance(model, LocalModel):
            return model.path.name
        return f"{model.display_name} on {model.engine_label}"

    @property
    def model_id(self) -> str:
        """The id of the model in use (loading it if needed), as chats record it."""
        return self._core.parts.model.model_id

    @property
    def loaded_id(self) -> str | None:
        """The id of the loaded model; None while none is loaded (never loads it)."""
        model = self._core.parts.loaded_model
        return None if model is None else model.model_id

    @property
    def loaded_title(self) -> str:
        """What to call the loaded model: its own name, else its file name."""
        model = self._core.parts.loaded_model
        if model is None:
            return "no model loaded"
        return model.display_name  # its own name, else its file name (or the server's name)

    @property
    def load_report(self) -> LoadReport | None:
        """Where the loaded model's layers went (GPU or CPU); None while none is loaded."""
        from assistant.engine.model import LocalModel

        model = self._core.parts.loaded_model
        return model.report if isinstance(model, LocalModel) else None

    def load(self) -> None:
        """Load the model the settings name, if it is not loaded yet (raises ModelError)."""
        self._core.load_model()

    def reload(self) -> Change:
        """Load the model the settings name now and swap it in; the old one stays on failure."""
        from assistant.engine.factory import open_engine

        settings = self._core.current_settings
        model = open_engine(settings.model, seed=settings.generation.seed)
        self._core.parts.replace_model(model)
        return self._core.changes.publish(Change(Area.MODEL, "loaded", (model.model_id,)))

    @staticmethod
    @functools.cache
    def gpu_offload_supported() -> bool:
        """Whether this build of llama.cpp can put layers on a GPU."""
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())


def run_download_worker() -> int:
    """Be the download process for the app (the bundle's hidden command); its exit status."""
    from assistant.models.worker import main

    return main()
