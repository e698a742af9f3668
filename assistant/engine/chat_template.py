"""Turn a list of chat messages into the prompt text a model was trained on.

The template comes from the model's own GGUF metadata (``tokenizer.chat_template``). A model that
ships none gets ChatML, the most widely trained format; this fallback is documented in the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from assistant.errors import ModelError

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


# Where a ChatML turn ends or the next begins: a model that was never trained on ChatML (a base
# model such as Gemma 3 270M) writes these markers as plain text and goes on past them, so the
# fallback stops generation there, as the markers' special tokens would stop a ChatML model.
CHATML_STOPS = ("<|im_end|>", "<|im_start|>")
NO_TEMPLATE_NOTE = (
    "{name} has no chat template, so it is probably a base model (trained to continue text, "
    "not to chat): it is prompted in ChatML and its answers may ramble or repeat the question. "
    "Choose an instruction-tuned model (its name usually says Instruct, Chat or -it).")


class Message(TypedDict):
    """One chat turn: ``role`` is "system", "user" or "assistant"."""

    role: str
    content: str


def _raise(message: str) -> None:
    raise jinja2.TemplateError(message)


class ChatTemplate:
    """A compiled chat template; ``render`` is pure and cheap enough to call every turn."""

    def __init__(self, source: str | None, bos_token: str = "", eos_token: str = "") -> None:
        self.is_fallback = not source
        self.source = source or CHATML_TEMPLATE
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        try:
            self._template = env.from_string(self.source)
        except jinja2.TemplateError as exc:
            raise ModelError(f"The model's chat template cannot be read: {exc}") from exc
        self._bos = bos_token
        self._eos = eos_token
        #: Text that ends an answer besides the model's end-of-generation tokens.
        self.stop_strings: tuple[str, ...] = CHATML_STOPS if self.is_fallback else ()

    def render(self, messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
        """Prompt text for ``messages``, ending with the assistant's cue when asked."""
        try:
            return self._template.render(
                messages=list(messages),
                add_generation_prompt=add_generation_prompt,
                bos_token=self._bos,
                eos_token=self._eos,
            )
        except jinja2.TemplateError as exc:
            raise ModelError(f"The model's chat template rejected the conversation: {exc}") from exc
