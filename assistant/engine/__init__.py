"""The in-process llama.cpp engine: model files, chat generation and LoRA adapters."""

from assistant.engine.adapter_files import AdapterCatalog, AdapterInfo
from assistant.engine.adapters import AdapterLibrary, AdapterSet, ResolvedSet
from assistant.engine.chat_template import ChatTemplate, Message
from assistant.engine.gguf_file import GGUFFile, read_gguf, validate_model_file
from assistant.engine.model import (
    GenerationStats,
    LoadReport,
    LocalModel,
    SamplingParams,
    TokenStream,
)

__all__ = [
    "AdapterCatalog",
    "AdapterInfo",
    "AdapterLibrary",
    "AdapterSet",
    "ChatTemplate",
    "GGUFFile",
    "GenerationStats",
    "LoadReport",
    "LocalModel",
    "Message",
    "ResolvedSet",
    "SamplingParams",
    "TokenStream",
    "read_gguf",
    "validate_model_file",
]
