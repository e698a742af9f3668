"""RemoteModel: a chat model served by an OpenAI-compatible server (llama.cpp's ``llama-server``,
llama-cpp-python's ``llama_cpp.server``, vLLM, Ollama), with the same surface as LocalModel.

The facade sees a :class:`~assistant.engine.protocol.ChatEngine`: answers stream from
``/v1/chat/completions`` over server-sent events, cancelling closes the connection (the server
stops generating), token counts come from :mod:`assistant.engine.remote_tokens`, and the context
size is the server's own (or the one the settings state), never a guess.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.config import RemoteSettings
from assistant.engine.chat_template import Message
from assistant.engine.model import GenerationStats, SamplingParams, TokenStream
from assistant.engine.remote_http import Cancelled, ServerClient, server_root
from assistant.engine.remote_limits import Limits
from assistant.engine.remote_tokens import TokenCounter
from assistant.errors import ContextOverflowError, RemoteEngineError
from assistant.json_shapes import made_storable
from assistant.secrets import api_key_name, get_secret

log = logging.getLogger(__name__)


class RemoteModel:
    """A model on a server. Create it with :meth:`connect`; ``close`` drops the connections."""

    def __init__(self, client: ServerClient, model: str, n_ctx: int,
                 counter: TokenCounter, lora_adapters: list[dict[str, Any]] | None) -> None:
        self.client = client
        self.model = model
        self._n_ctx = n_ctx
        self.counter = counter
        #: The server's adapters (``/lora-adapters``: id, path, scale), or None when it cannot
        #: switch adapters per request.
        self.lora_adapters = lora_adapters
        #: Sent with every request while set: ``[{"id": …, "scale": …}, …]`` (llama-server).
        self.request_lora: list[dict[str, Any]] | None = None
        self.lock = threading.RLock()

    @classmethod
    def connect(cls, settings: RemoteSettings, api_key: str | None = None) -> RemoteModel:
        """Reach the server, pick the model and learn its context size and adapter support.
        The API key comes from the keyring unless given."""
        if not settings.base_url.strip():
            raise RemoteEngineError("No server address is set: put base_url under "
                                    "[model.remote] in the settings.")
        if api_key is None:
            api_key = get_secret(api_key_name(server_root(settings.base_url)))
        client = ServerClient(settings.base_url, api_key, Limits.of(settings))
        try:
            listed = client.get_json("/v1/models")
            model, card = _pick_model(listed, settings.model, client.root)
            n_ctx = settings.context_size or _server_context(client, card)
            if not n_ctx:
                raise RemoteEngineError(
                    f"The server at {client.root} does not say how long its context is. Set "
                    "context_size under [model.remote] to the server's context size "
                    "(llama_cpp.server: its --n_ctx, 2048 unless set).")
            lora = None
            if settings.lora in ("auto", "per_request"):
                found = client.get_json("/lora-adapters", missing_ok=True)
                lora = found if isinstance(found, list) else None
                if lora is None and settings.lora == "per_request":
                    raise RemoteEngineError(f"The server at {client.root} has no /lora-adapters "
                                            "endpoint, so it cannot switch adapters per request.")
            local = Path(settings.local_copy).expanduser() if settings.local_copy else None
            counter = TokenCounter(client, model, local)
        except BaseException:
            client.close()
            raise
        log.info("Remote model %s at %s (context %d, per-request LoRA: %s)", model, client.root,
                 n_ctx, lora is not None)
        return cls(client, model, n_ctx, counter, lora)

    # -- the ChatEngine surface -----------------------------------------------------------------

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def model_id(self) -> str:
        """The server and the model name, e.g. ``http://gpu:8080/v1#qwen2.5-7b``."""
        return f"{self.client.root}/v1#{self.model}"

    @property
    def engine_label(self) -> str:
        """The server's address: the chat footer says which engine answered."""
        return self.client.root

    @property
    def display_name(self) -> str:
        """The model's name as the server lists it (a path's file name)."""
        return Path(self.model).name if "/" in self.model else self.model

    @property
    def template_note(self) -> str:
        """The server applies its model's chat format itself: nothing to say."""
        return ""

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Prompt tokens of ``messages`` as the server will count them, or more."""
        return self.counter.count(messages)

    def stream_chat(
        self,
        messages: Sequence[Message],
        params: SamplingParams | None = None,
        *,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
    ) -> TokenStream:
        """Stream the server's reply. Raises :class:`ContextOverflowError` before any request
        when the prompt alone does not fit; a failure mid-answer raises
        :class:`RemoteEngineError` from the stream (nothing of the answer is kept)."""
        params = params or SamplingParams()
        counted = self.count_tokens(messages)
        room = self.n_ctx - counted
        if room < 1:
            raise ContextOverflowError(counted, self.n_ctx)
        body = self._body(messages, params, min(params.max_tokens, room), stop)
        body.update(stream=True, stream_options={"include_usage": True})
        stats = GenerationStats(prompt_tokens=counted, evaluated_tokens=counted)
        return TokenStream(self._stream(body, counted, cancel, stats), stats)

    def generate_json(self, messages: Sequence[Message], schema: dict[str, Any],
                      max_tokens: int = 160) -> str:
        """Greedy JSON under ``schema``: the server constrains it with a grammar
        (``response_format`` with a schema, which llama.cpp's servers and vLLM accept)."""
        body = self._body(messages, SamplingParams.greedy(max_tokens), max_tokens, ())
        body["response_format"] = {"type": "json_object", "schema": schema}
        reply = self.client.post_json("/v1/chat/completions", body)
        try:
            return str(reply["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise RemoteEngineError(f"The server at {self.client.root} sent a reply without a "
                                    "message.") from exc

    def leave_chat(self, key: Hashable) -> None:
        """Nothing to keep here: the server manages its own prompt cache."""

    def enter_chat(self, key: Hashable) -> bool:
        """Nothing was kept here (the server's prompt cache serves repeated prefixes)."""
        return False

    def forget_chat(self, session_id: str) -> None:
        """Nothing of a chat is kept here (what the server caches is the server's)."""

    def close(self) -> None:
        """Close the connections to the server."""
        self.counter.close()
        self.client.close()

    # -- internals ----------------------------------------------------------------------------

    def _body(self, messages: Sequence[Message], params: SamplingParams, max_tokens: int,
              stop: Sequence[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            # Not in OpenAI's API, but llama.cpp's servers and vLLM read them; others ignore them.
            "top_k": params.top_k,
            "min_p": params.min_p,
            "repeat_penalty": params.repeat_penalty,
        }
        if stop:
            body["stop"] = list(stop)
        if self.request_lora is not None:
            body["lora"] = self.request_lora
        return body

    def _stream(self, body: dict[str, Any], counted: int, cancel: threading.Event | None,
                stats: GenerationStats) -> Iterator[str]:
        started = time.perf_counter()
        reason = ""
        pieces = 0
        try:
            with self.client.stream_events("/v1/chat/completions", body, cancel) as events:
                for event in events:
                    if cancel is not None and cancel.is_set():
                        reason = "cancelled"
                        break
                    _read_usage(event, stats)
                    for choice in event.get("choices") or []:
                        text = made_storable((choice.get("delta") or {}).get("content") or "")
                        if text:
                            if not pieces:
                                stats.ttft_s = time.perf_counter() - started
                            pieces += 1
                            yield text
                        if choice.get("finish_reason"):
                            reason = str(choice["finish_reason"])
        except Cancelled:
            reason = "cancelled"  # Stop while the server was silent: ended like any Stop
        finally:
            stats.seconds = time.perf_counter() - started
            stats.finish_reason = reason or "stop"
            stats.completion_tokens = stats.completion_tokens or pieces
        if stats.prompt_tokens != counted:  # the server reported its own count
            self.counter.observe(counted, stats.prompt_tokens)


def _read_usage(event: dict[str, Any], stats: GenerationStats) -> None:
    """Take the server's own counts where it reports them (OpenAI usage, llama.cpp timings)."""
    usage = event.get("usage")
    if isinstance(usage, dict):
        stats.prompt_tokens = int(usage.get("prompt_tokens") or stats.prompt_tokens)
        stats.evaluated_tokens = stats.prompt_tokens
        stats.completion_tokens = int(usage.get("completion_tokens") or 0)
    timings = event.get("timings")
    if isinstance(timings, dict) and "prompt_n" in timings:
        stats.evaluated_tokens = int(timings["prompt_n"])


def _pick_model(listed: Any, wanted: str, root: str) -> tuple[str, dict[str, Any]]:
    """The model to ask for, and what the server says about it."""
    cards = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(cards, list) or not cards:
        raise RemoteEngineError(f"The server at {root} lists no models at /v1/models. Is it an "
                                "OpenAI-compatible server with a model loaded?")
    cards = [c for c in cards if isinstance(c, dict) and "id" in c]
    if not wanted:
        return str(cards[0]["id"]), cards[0]
    for card in cards:
        if card["id"] == wanted:
            return wanted, card
    names = ", ".join(str(c["id"]) for c in cards)
    raise RemoteEngineError(f"The server at {root} has no model '{wanted}'; it serves: {names}.")


def _server_context(client: ServerClient, card: dict[str, Any]) -> int:
    """The context size the server reports, or 0: vLLM lists ``max_model_len``; llama-server's
    ``/props`` gives the context of each of its slots."""
    if card.get("max_model_len"):
        return int(card["max_model_len"])
    props = client.get_json("/props", missing_ok=True)
    if isinstance(props, dict):
        settings = props.get("default_generation_settings")
        n_ctx = (settings or {}).get("n_ctx") if isinstance(settings, dict) else None
        if n_ctx:
            return int(n_ctx)
    return 0
