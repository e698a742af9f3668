"""Token counts for a model that runs on a server, never below what the server will count.

The prompt budget must not overflow the server's context, so each way of counting is exact or an
upper bound, best first:

1. a local copy of the server's GGUF (``local_copy``): its vocabulary and chat template, read
   without loading the weights — exact;
2. llama.cpp's ``llama-server``: ``/apply-template`` renders the chat as the server will, and
   ``/tokenize`` counts it — exact;
3. a tokenize endpoint for text only (llama-cpp-python's ``/extras/tokenize``): each message's
   content is counted exactly, and the template's cost is measured once from the server's own
   ``usage.prompt_tokens`` on two one-token requests (a fixed part plus a part per message);
4. nothing to tokenize with: a message's UTF-8 length in bytes, which no byte-level tokenizer
   exceeds, plus the measured template cost.

After every answer whose usage the server reports, :meth:`TokenCounter.observe` widens the margin
if the server counted more than we did, so a template quirk is corrected rather than repeated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.engine.chat_template import ChatTemplate, Message
from assistant.engine.remote_http import ServerClient
from assistant.errors import ModelError

log = logging.getLogger(__name__)
CACHE_LIMIT = 4096  # distinct message texts whose token counts are kept


class TokenCounter:
    """Counts the prompt tokens of chat messages for one server model."""

    def __init__(self, client: ServerClient, model: str, local_copy: Path | None = None) -> None:
        self.client = client
        self.model = model
        self.margin = 0  # raised when the server reports more than we counted
        self._lock = threading.Lock()
        self._cache: dict[str, int] = {}
        self._overhead: tuple[int, int] | None = None  # (fixed, per message)
        self._vocab: _LocalVocab | None = _LocalVocab(local_copy) if local_copy else None
        self._server_template: bool | None = None  # llama-server's /apply-template exists
        self._text_endpoint: Callable[[str], int | None] | None = None
        self.method = "local copy" if self._vocab else ""

    def count(self, messages: Sequence[Message]) -> int:
        """Prompt tokens of ``messages`` with the assistant cue, as an upper bound."""
        if self._vocab is not None:
            return self._vocab.count(messages) + self.margin
        if self._server_template is not False:
            exact = self._count_by_server_template(messages)
            if exact is not None:
                return exact + self.margin
        fixed, per_message = self._template_overhead()
        body = sum(self._text_tokens(m["content"]) + self._text_tokens(m["role"])
                   for m in messages)
        # A boundary merge can change a count by a token either way: one spare per message.
        return body + fixed + (per_message + 1) * len(messages) + self.margin

    def observe(self, counted: int, reported: int) -> None:
        """The server counted ``reported`` prompt tokens where we counted ``counted``."""
        if reported > counted:
            with self._lock:
                self.margin += reported - counted
            log.warning("The server counted %d prompt tokens, we counted %d: margin now %d",
                        reported, counted, self.margin)

    def close(self) -> None:
        """Free the local vocabulary, if one was loaded."""
        if self._vocab is not None:
            self._vocab.close()

    # -- ways of counting -----------------------------------------------------------------------

    def _count_by_server_template(self, messages: Sequence[Message]) -> int | None:
        rendered = self.client.post_json("/apply-template", {"messages": list(messages)},
                                         missing_ok=True)
        self._server_template = isinstance(rendered, dict) and "prompt" in rendered
        if not self._server_template or rendered is None:
            return None
        self.method = "server template"
        reply = self.client.post_json("/tokenize", {"content": rendered["prompt"],
                                                    "add_special": True})
        return len(reply.get("tokens", []))

    def _text_tokens(self, text: str) -> int:
        if not text:
            return 0
        with self._lock:
            known = self._cache.get(text)
        if known is not None:
            return known
        if self._text_endpoint is None:
            self._text_endpoint = self._find_text_endpoint()
        count = self._text_endpoint(text)
        if count is None:  # no tokenizer anywhere: bytes bound every byte-level tokenizer
            count = len(text.encode("utf-8"))
        with self._lock:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = count
        return count

    def _find_text_endpoint(self) -> Callable[[str], int | None]:
        """The server's tokenizer for plain text, if it has one."""
        probe = self.client.post_json("/extras/tokenize", {"input": "probe", "model": self.model},
                                      missing_ok=True)
        if isinstance(probe, dict) and "tokens" in probe:
            self.method = "server tokenizer"
            return lambda text: len(self.client.post_json(
                "/extras/tokenize", {"input": text, "model": self.model})["tokens"])
        probe = self.client.post_json("/tokenize", {"model": self.model, "prompt": "probe"},
                                      missing_ok=True)
        if isinstance(probe, dict) and "count" in probe:  # vLLM
            self.method = "server tokenizer"
            return lambda text: int(self.client.post_json(
                "/tokenize", {"model": self.model, "prompt": text,
                              "add_special_tokens": False})["count"])
        self.method = "byte bound"
        return lambda text: None

    def _template_overhead(self) -> tuple[int, int]:
        """(fixed, per message) tokens the server's chat template adds, measured once."""
        with self._lock:
            if self._overhead is not None:
                return self._overhead
        two: list[Message] = [{"role": "system", "content": "Be brief."},
                              {"role": "user", "content": "Hello"}]
        four: list[Message] = [*two, {"role": "assistant", "content": "Hi"},
                               {"role": "user", "content": "Bye"}]
        p2, p4 = self._usage(two), self._usage(four)
        body2 = sum(self._text_tokens(m["content"]) + self._text_tokens(m["role"]) for m in two)
        body4 = sum(self._text_tokens(m["content"]) + self._text_tokens(m["role"]) for m in four)
        per_message = max(0, -(-((p4 - body4) - (p2 - body2)) // 2))  # ceiling division
        fixed = max(0, p2 - body2 - 2 * per_message)
        with self._lock:
            self._overhead = (fixed, per_message)
        log.info("Server chat template costs %d + %d per message (counting by %s)", fixed,
                 per_message, self.method)
        return fixed, per_message

    def _usage(self, messages: list[Message]) -> int:
        reply = self.client.post_json("/v1/chat/completions", {
            "model": self.model, "messages": messages, "max_tokens": 1, "temperature": 0.0,
            "stream": False})
        try:
            return int(reply["usage"]["prompt_tokens"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"The server at {self.client.root} reports no token usage, so Loremind cannot "
                "keep prompts within its context. Name a local copy of its model (local_copy "
                "under [model.remote]) to count tokens here.") from exc


class _LocalVocab:
    """The vocabulary and chat template of a GGUF file, without its weights."""

    def __init__(self, path: Path) -> None:
        import llama_cpp

        from assistant.engine.gguf_file import validate_model_file

        info = validate_model_file(path)
        try:
            self._llama: Any = llama_cpp.Llama(model_path=str(path), vocab_only=True,
                                               verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"The vocabulary of {path.name} could not be read: {exc}") from exc
        bos, eos = self._llama.token_bos(), self._llama.token_eos()
        self._bos = bos
        vocab = llama_cpp.llama_model_get_vocab(self._llama.model)
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab)) and bos >= 0
        self._template = ChatTemplate(info.chat_template, bos_token=self._text(bos),
                                      eos_token=self._text(eos))

    def count(self, messages: Sequence[Message]) -> int:
        tokens = self._llama.tokenize(self._template.render(messages, True).encode("utf-8"),
                                      add_bos=False, special=True)
        return len(tokens) + (1 if self._add_bos and (not tokens or tokens[0] != self._bos)
                              else 0)

    def close(self) -> None:
        self._llama.close()

    def _text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llama.detokenize([token], special=True).decode("utf-8", errors="replace")
