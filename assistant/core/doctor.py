"""What a bug report needs about this installation: versions, folders, the build, the model."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant import __version__
from assistant.errors import LoremindError

if TYPE_CHECKING:
    from assistant.core.app import Loremind


def doctor_report(core: Loremind) -> dict[str, Any]:
    """Everything a bug report needs, as plain data; loads the model the settings name."""
    import keyring
    import lancedb
    import llama_cpp

    paths, settings = core.paths, core.current_settings
    report: dict[str, Any] = {
        "loremind": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "llama_cpp_python": llama_cpp.__version__,
        "lancedb": lancedb.__version__,
        "gpu_offload_supported": core.models.gpu_offload_supported(),
        "llama_system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
        "keyring_backend": type(keyring.get_keyring()).__name__,
        "config_file": str(paths.config_file),
        "data_dir": str(paths.data_dir),
        "cache_dir": str(paths.cache_dir),
        "log_dir": str(paths.log_dir),
        "gpu_layers_setting": settings.model.gpu_layers,
    }
    from assistant.engine.model import LocalModel

    core.models.load()
    model = core.parts.model
    if not isinstance(model, LocalModel):  # a model on a server: it reports what it can
        report["model"] = {"engine": model.engine_label, "id": model.model_id,
                           "name": model.display_name, "context_size": model.n_ctx,
                           "embedded_demo": False}
        return report
    report["n_gpu_layers"] = model.report.n_gpu_layers
    report["model"] = {
        "path": str(model.path),
        "name": model.info.name,
        "architecture": model.info.architecture,
        "context_length": model.info.context_length,
        "context_size": model.n_ctx,
        "size_bytes": model.info.size_bytes,
        "chat_template": ("fallback (ChatML): no chat template, probably a base model"
                          if model.template.is_fallback else "from the model"),
        "embedded_demo": _is_embedded_demo(model.path),
        "template_note": model.template_note,
    }
    return report


def _is_embedded_demo(path: Path) -> bool:
    from assistant.defaults import embedded_chat_model

    try:
        return path.resolve() == embedded_chat_model().resolve()
    except LoremindError:  # no embedded model installed: whatever runs is not it
        return False
