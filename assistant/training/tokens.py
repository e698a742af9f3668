"""The base model's own tokenizer and chat template, as llama.cpp reads them from the GGUF file.

Training data is tokenized here, not by a Hugging Face tokenizer rebuilt from the GGUF file: the
adapter is used by llama.cpp, so the ids it learns from are exactly the ids llama.cpp feeds the
model at inference. Only the vocabulary is loaded (milliseconds, whatever the model's size).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import llama_cpp

from assistant.engine.chat_template import ChatTemplate, Message
from assistant.engine.gguf_file import GGUFFile, validate_model_file
from assistant.errors import ModelError


class ModelTokenizer:
    """Tokenize text and render chats exactly as llama.cpp does for one GGUF model."""

    def __init__(self, path: Path) -> None:
        self.info: GGUFFile = validate_model_file(path)
        try:
            self._llama = llama_cpp.Llama(model_path=os.fspath(path), vocab_only=True,
                                          verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"llama.cpp could not read the vocabulary of {path.name}: {exc}") \
                from exc
        vocab = llama_cpp.llama_model_get_vocab(self._llama.model)
        self.bos = self._llama.token_bos()
        self.eos = self._llama.token_eos()
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab)) and self.bos >= 0
        self.template = ChatTemplate(self.info.chat_template, bos_token=self._piece(self.bos),
                                     eos_token=self._piece(self.eos))

    def tokenize(self, text: str, *, bos: bool = False) -> list[int]:
        """Token ids of ``text`` (special tokens such as ``<|im_end|>`` parsed as tokens)."""
        ids = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if bos and self.add_bos and (not ids or ids[0] != self.bos):
            ids.insert(0, self.bos)
        return ids

    def render(self, messages: Sequence[Message], add_generation_prompt: bool) -> str:
        """The chat as the model's template writes it."""
        return self.template.render(messages, add_generation_prompt)

    def detokenize(self, ids: Sequence[int]) -> str:
        """The text of ``ids`` (for previews)."""
        return self._llama.detokenize(list(ids), special=True).decode("utf-8", errors="replace")

    @property
    def template_eos(self) -> str:
        """The end-of-text piece, which ends a response when the template adds none."""
        return self._piece(self.eos)

    def close(self) -> None:
        """Free the vocabulary."""
        self._llama.close()

    def _piece(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llama.detokenize([token], special=True).decode("utf-8", errors="replace")
