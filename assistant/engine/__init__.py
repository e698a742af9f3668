"""The in-process llama.cpp engine: model files, chat generation and LoRA adapters."""

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
    "ChatTemplate",
    "GGUFFile",
    "GenerationStats",
    "LoadReport",
    "LocalModel",
    "Message",
    "SamplingParams",
    "TokenStream",
    "read_gguf",
    "validate_model_file",
]
