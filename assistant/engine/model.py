"""LocalModel: one GGUF model running in-process on llama.cpp, streaming chat turns.

One ``Llama`` object lives as long as the model is loaded, so that follow-up turns reuse the KV
cache for the prompt prefix they share with the previous turn and cost only their new tokens.
llama.cpp is not thread-safe: every call into it holds ``self.lock``.
"""

from __future__ import annotations

import codecs
import logging
import os
import threading
import time
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llama_cpp

import assistant.engine.llama_log  # noqa: F401  (llama.cpp's messages go to the log file)
from assistant.config import GenerationSettings, GpuLayers, ModelSettings
from assistant.defaults import embedded_chat_model
from assistant.engine.chat_states import MB, ChatStates, capture, restore
from assistant.engine.chat_template import ChatTemplate, Message
from assistant.engine.gguf_file import GGUFFile, validate_model_file
from assistant.engine.threads import ThreadPolicy
from assistant.errors import ContextOverflowError, ModelError
from assistant.json_shapes import made_storable
from assistant.statuses import FinishReason

log = logging.getLogger(__name__)
# A dropped block of history is skipped by shifting the cache only when the prompt's next
# tokens match this many cached ones (a chance match of a few tokens is not the same text).
SHIFT_PROBE_TOKENS = 16


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is chosen; ``temperature`` 0 means greedy."""

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 512

    @classmethod
    def from_settings(cls, settings: GenerationSettings) -> SamplingParams:
        return cls(
            temperature=settings.temperature,
            top_p=settings.top_p,
            top_k=settings.top_k,
            min_p=settings.min_p,
            repeat_penalty=settings.repeat_penalty,
            max_tokens=settings.max_tokens,
        )

    @classmethod
    def greedy(cls, max_tokens: int = 512) -> SamplingParams:
        """Deterministic decoding: always the most likely token, no penalties."""
        return cls(temperature=0.0, top_p=1.0, top_k=1, min_p=0.0, repeat_penalty=1.0,
                   max_tokens=max_tokens)


@dataclass
class GenerationStats:
    """What one generation cost. ``evaluated_tokens`` < ``prompt_tokens`` when the cache helped."""

    prompt_tokens: int = 0
    evaluated_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float = 0.0
    seconds: float = 0.0
    finish_reason: FinishReason | str = ""  # empty until the answer ends
    completion_ids: list[int] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class LoadReport:
    """How the model was placed: what this build supports and what was chosen."""

    gpu_offload_supported: bool
    n_gpu_layers: int
    attempts: tuple[str, ...]


@dataclass(frozen=True)
class LoadPlan:
    """What :meth:`LocalModel.load` asks llama.cpp for, decided before anything loads (a
    benchmark's baseline can then load the same way before the app does)."""

    info: GGUFFile
    context_size: int
    n_threads: int
    cores: int
    gpu_supported: bool
    n_layers: int
    gpu_layers: tuple[int, ...]  # the layer counts to try, best first

    @classmethod
    def of(cls, path: Path, context_size: int, threads: int, gpu_layers: GpuLayers) -> LoadPlan:
        info = validate_model_file(path)
        supported = bool(llama_cpp.llama_supports_gpu_offload())
        n_layers = int(info.metadata.get(f"{info.architecture}.block_count") or 0)
        # More threads than cores only thrash, and a huge count crashes llama.cpp.
        cores = os.cpu_count() or 1
        return cls(
            info=info,
            # Beyond the trained length a model degrades into noise: never ask for more.
            context_size=min(context_size, info.context_length or context_size),
            n_threads=min(threads, cores) if threads > 0 else cores,
            cores=cores,
            gpu_supported=supported,
            n_layers=n_layers,
            gpu_layers=tuple(_gpu_plan(gpu_layers, supported, n_layers)),
        )

    def offloaded(self, layers: int) -> int:
        """How many layers are on the GPU once loaded with ``n_gpu_layers=layers``."""
        if not self.gpu_supported:
            return 0
        return self.n_layers if layers < 0 else layers


class TokenStream:
    """An iterator of text pieces; ``stats`` and ``text`` are complete once it is exhausted."""

    def __init__(self, pieces: Iterator[str], stats: GenerationStats) -> None:
        self._pieces = pieces
        self.stats = stats
        self.text = ""

    def __iter__(self) -> TokenStream:
        return self

    def __next__(self) -> str:
        piece = next(self._pieces)
        self.text += piece
        return piece

    def read(self) -> str:
        """Consume the rest of the stream and return the whole text."""
        for _ in self:
            pass
        return self.text


class LocalModel:
    """A loaded GGUF chat model. Create it with :meth:`load`; ``close`` frees its memory."""

    def __init__(self, llama: llama_cpp.Llama, info: GGUFFile, report: LoadReport,
                 chat_state_mb: int = 512, thread_policy: ThreadPolicy | None = None) -> None:
        self.llama = llama
        self.info = info
        self.report = report
        self.lock = threading.RLock()
        # Saved KV states of chats left for another one; see :meth:`enter_chat`.
        self.chat_states = ChatStates(chat_state_mb * MB)
        self._cache_owner: Hashable | None = None
        # With automatic threads, each generation uses the cores other processes leave free.
        self.thread_policy = thread_policy
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)
        bos, eos = llama.token_bos(), llama.token_eos()
        self.template = ChatTemplate(
            info.chat_template,
            bos_token=self._token_text(bos),
            eos_token=self._token_text(eos),
        )
        self._bos_id = bos
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self._vocab)) and bos >= 0

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        context_size: int = 4096,
        threads: int = 0,
        gpu_layers: GpuLayers = "auto",
        seed: int = -1,
        chat_state_mb: int = 512,
    ) -> LocalModel:
        """Validate and load ``path`` (the embedded model when None), placing layers on the GPU
        according to ``gpu_layers``: "auto" tries all layers, then fewer, then the CPU."""
        path = Path(path) if path else embedded_chat_model()
        plan = LoadPlan.of(path, context_size, threads, gpu_layers)
        context_size, n_threads, info = plan.context_size, plan.n_threads, plan.info
        attempts: list[str] = []
        for layers in plan.gpu_layers:
            try:
                llama = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=context_size,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    n_gpu_layers=layers,
                    seed=seed if seed >= 0 else llama_cpp.LLAMA_DEFAULT_SEED,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                attempts.append(f"n_gpu_layers={layers}: {exc}")
                log.warning("Loading %s with %s GPU layers failed: %s", path, layers, exc)
                continue
            attempts.append(f"n_gpu_layers={layers}: ok")
            chosen = plan.offloaded(layers)
            report = LoadReport(plan.gpu_supported, chosen, tuple(attempts))
            log.info("Loaded %s (%s GPU layers, context %s)", path, chosen, context_size)
            policy = ThreadPolicy(plan.cores) if threads <= 0 else None
            return cls(llama, info, report, chat_state_mb, policy)
        raise ModelError(
            f"llama.cpp could not load {path.name} ({'; '.join(attempts)}). The file may be "
            "damaged, or the machine may lack the memory for it: try a smaller context size or "
            "a smaller model."
        )

    @classmethod
    def from_settings(cls, settings: ModelSettings, seed: int = -1) -> LocalModel:
        """Load the model the settings name (the embedded default when none)."""
        return cls.load(
            Path(settings.path).expanduser() if settings.path else None,
            context_size=settings.context_size,
            threads=settings.threads,
            gpu_layers=settings.gpu_layers,
            seed=seed,
            chat_state_mb=settings.chat_state_mb,
        )

    def close(self) -> None:
        """Free llama.cpp's memory; the object is unusable afterwards."""
        with self.lock:
            self.llama.close()

    # -- prompts and tokens -------------------------------------------------------------------

    @property
    def n_ctx(self) -> int:
        return self.llama.n_ctx()

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def model_id(self) -> str:
        """What a chat records as its model: the GGUF file's path."""
        return str(self.info.path)

    @property
    def engine_label(self) -> str:
        """This engine for people: the model runs in this process."""
        return "local"

    @property
    def display_name(self) -> str:
        """The model's own name, else its file name."""
        return self.info.name or self.info.path.name

    @property
    def template_note(self) -> str:
        """Said when the file has no chat template (probably a base model), else ""."""
        return self.info.template_note

    def generate_json(self, messages: Sequence[Message], schema: dict[str, Any],
                      max_tokens: int = 160) -> str:
        """Greedy JSON for ``messages`` under ``schema``'s grammar; the chat's cache is kept."""
        from assistant.engine.structured import generate_json  # it imports this module

        return generate_json(self, messages, schema, max_tokens)

    def render(self, messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
        """The prompt text for ``messages`` in the model's chat format."""
        return self.template.render(messages, add_generation_prompt)

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        """Token ids of ``text``, without a leading BOS."""
        with self.lock:
            return self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """Token ids the model reads for ``messages``, assistant cue included."""
        prompt = self.render(messages)
        tokens = self.tokenize(prompt, special=True)
        if self._add_bos and (not tokens or tokens[0] != self._bos_id):
            tokens.insert(0, self._bos_id)
        return tokens

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """How many tokens ``messages`` take in this model's context window."""
        return len(self.prompt_tokens(messages))

    def drop_cache(self) -> None:
        """Forget the cached prompt, so nothing computed earlier is reused (e.g. after the
        active adapters changed)."""
        with self.lock:
            self.llama.reset()
            self._cache_owner = None

    def leave_chat(self, key: Hashable) -> None:
        """Before answering chat ``key``: save the KV state of the chat the cache holds now, if
        it is another one (``key`` names a chat and its adapter set), so that going back to it
        does not read it again."""
        with self.lock:
            owner = self._cache_owner
            if owner is None or owner == key or self.llama.n_tokens == 0:
                return
            self.chat_states.put(owner, capture(self.llama))

    def forget_chat(self, session_id: str) -> None:
        """Chat ``session_id`` is being deleted: drop its saved states, and the cache when
        the chat owns it, so none of its tokens stay in memory."""
        self.chat_states.forget_chat(session_id)
        with self.lock:
            owner = self._cache_owner
            if isinstance(owner, tuple) and owner and owner[0] == session_id:
                llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.llama.ctx), True)
                self.llama.reset()
                self._cache_owner = None

    def enter_chat(self, key: Hashable) -> bool:
        """Make chat ``key`` the owner of the cache, restoring its saved state when the cache
        holds something else; True when a state was restored. Call it after the chat's
        adapters are applied: applying another set drops the cache."""
        with self.lock:
            if self._cache_owner == key:
                return False
            self._cache_owner = key
            state = self.chat_states.take(key)
            return state is not None and restore(self.llama, state)

    @contextmanager
    def preserving_cache(self) -> Iterator[None]:
        """Run a side task (e.g. memory extraction) without losing the conversation's cached
        prompt: the KV cells of sequence 0 and the token history are copied and put back.
        Only the used cells are copied, unlike ``Llama.save_state`` which also copies logits."""
        with self.lock:
            saved = capture(self.llama)
            try:
                yield
            finally:
                restore(self.llama, saved)

    # -- generation ---------------------------------------------------------------------------

    def stream_chat(
        self,
        messages: Sequence[Message],
        params: SamplingParams | None = None,
        *,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
        grammar: Any = None,
    ) -> TokenStream:
        """Stream the assistant's reply to ``messages``; see :meth:`stream_tokens`. The chat
        format's own end markers stop it too (ChatML's, for a model without a template)."""
        return self.stream_tokens(
            self.prompt_tokens(messages), params, stop=(*stop, *self.template.stop_strings),
            cancel=cancel, grammar=grammar
        )

    def stream_tokens(
        self,
        prompt: list[int],
        params: SamplingParams | None = None,
        *,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
        grammar: Any = None,
    ) -> TokenStream:
        """Stream text generated after ``prompt``. Generation ends at an end-of-generation token,
        a stop string (not included in the text), ``max_tokens``, the end of the context window,
        or ``cancel`` being set (checked after every token). Raises
        :class:`ContextOverflowError` before any work when the prompt alone does not fit."""
        params = params or SamplingParams()
        room = self.n_ctx - len(prompt)
        if room < 1:
            raise ContextOverflowError(len(prompt), self.n_ctx)
        stats = GenerationStats(prompt_tokens=len(prompt))
        pieces = self._generate(prompt, params, min(params.max_tokens, room), stop, cancel,
                                grammar, stats)
        return TokenStream(pieces, stats)

    def _generate(
        self,
        prompt: list[int],
        params: SamplingParams,
        max_tokens: int,
        stop: Sequence[str],
        cancel: threading.Event | None,
        grammar: Any,
        stats: GenerationStats,
    ) -> Iterator[str]:
        with self.lock:
            started = time.perf_counter()
            self._fit_threads()
            self._skip_dropped_history(prompt)
            evaluated_before = self._evaluated_count()
            first = True
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            held = ""  # text that may be the start of a stop string
            reason = FinishReason.LENGTH
            hit_stop_string = False
            tokens = self.llama.generate(
                prompt,
                temp=params.temperature,
                top_k=params.top_k,
                top_p=params.top_p,
                min_p=params.min_p,
                repeat_penalty=params.repeat_penalty,
                grammar=grammar,
            )
            try:
                for token in tokens:
                    if first:  # only the prompt has been evaluated so far
                        first = False
                        stats.ttft_s = time.perf_counter() - started
                        stats.evaluated_tokens = self._evaluated_count() - evaluated_before
                    if cancel is not None and cancel.is_set():
                        reason = FinishReason.CANCELLED
                        break
                    if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                        reason = FinishReason.STOP
                        break
                    stats.completion_ids.append(token)
                    # A byte token may decode to a NUL, which no stored answer may hold.
                    held += made_storable(decoder.decode(self.llama.detokenize([token])))
                    emit, held, hit_stop_string = _split_at_stop(held, stop)
                    if emit:
                        yield emit
                    if hit_stop_string:
                        reason = FinishReason.STOP
                        break
                    if len(stats.completion_ids) >= max_tokens:
                        break
                tail = "" if hit_stop_string else held + decoder.decode(b"", final=True)
                if tail:
                    yield tail
            finally:
                tokens.close()
                stats.completion_tokens = len(stats.completion_ids)
                stats.seconds = time.perf_counter() - started
                stats.finish_reason = reason

    def _fit_threads(self) -> None:
        """Follow the thread policy (automatic threads only): fewer threads while other
        processes hold cores, since llama.cpp's threads wait for the slowest at every step."""
        if self.thread_policy is None:
            return
        wanted = self.thread_policy.choose()
        if wanted != self.llama.n_threads:
            llama_cpp.llama_set_n_threads(self.llama.ctx, wanted, wanted)
            self.llama.n_threads = self.llama.n_threads_batch = wanted
            log.info("Generating with %d threads (other processes hold the other cores)", wanted)

    def _evaluated_count(self) -> int:
        """Tokens llama.cpp has decoded in this context, by its own counters (batches of one
        token count as ``n_eval``, longer ones as ``n_p_eval``)."""
        # Counts are added when a decode is waited for: wait for any still pending (a bare
        # ``Llama.eval`` leaves its last batch pending).
        llama_cpp.llama_synchronize(self.llama.ctx)
        perf = llama_cpp.llama_perf_context(self.llama.ctx)
        # llama.cpp reports at least 1 of each (it divides by them); no time spent means 0.
        prompt = int(perf.n_p_eval) if perf.t_p_eval_ms > 0 else 0
        single = int(perf.n_eval) if perf.t_eval_ms > 0 else 0
        return prompt + single

    def _skip_dropped_history(self, prompt: list[int]) -> None:
        """When ``prompt`` is the cached tokens with a block cut out after their common prefix
        (the oldest turns dropped to fit the context), remove that block from the cache and
        shift what follows into place (llama.cpp's context shift), so the kept history is
        not evaluated again."""
        llama = self.llama
        cached = llama.input_ids[: llama.n_tokens].tolist()
        start = common_prefix(cached, prompt)
        probe = prompt[start:start + SHIFT_PROBE_TOKENS]
        if len(probe) < SHIFT_PROBE_TOKENS or start >= len(cached):
            return
        memory = llama_cpp.llama_get_memory(llama.ctx)
        if not llama_cpp.llama_memory_can_shift(memory):
            return
        resume, kept = _longest_match(cached, prompt[start:], probe, start + 1)
        if resume < 0:
            return
        gap = resume - start
        llama_cpp.llama_memory_seq_rm(memory, 0, start, resume)
        llama_cpp.llama_memory_seq_rm(memory, 0, resume + kept, -1)
        llama_cpp.llama_memory_seq_add(memory, 0, resume, resume + kept, -gap)
        llama.input_ids[start:start + kept] = cached[resume:resume + kept]
        llama.n_tokens = start + kept
        llama._requires_eval = True
        log.debug("Context shift: dropped %d cached tokens, kept %d", gap, kept)

    def _reusable_prefix(self, prompt: list[int]) -> int:
        """How many leading prompt tokens llama-cpp-python will take from the KV cache
        (mirrors ``Llama.generate``: one token is always evaluated to get fresh logits)."""
        common = common_prefix(self.llama.input_ids[: self.llama.n_tokens].tolist(), prompt)
        return common - 1 if common == len(prompt) and common > 0 else common

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.llama.detokenize([token], special=True).decode("utf-8", errors="replace")


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _longest_match(tokens: list[int], wanted: list[int], probe: list[int], start: int
                   ) -> tuple[int, int]:
    """Where in ``tokens`` (at or after ``start``) the longest run of ``wanted``'s first
    tokens begins, and its length; (-1, 0) when ``probe`` (``wanted``'s start) is nowhere.
    Chats repeat text (the same source in two turns), so the first occurrence may be short."""
    best, best_length = -1, 0
    first = probe[0]
    for index in range(start, len(tokens) - len(probe) + 1):
        if tokens[index] == first and tokens[index:index + len(probe)] == probe:
            length = common_prefix(tokens[index:], wanted)
            if length > best_length:
                best, best_length = index, length
    return best, best_length


def _split_at_stop(text: str, stop: Sequence[str]) -> tuple[str, str, bool]:
    """Split ``text`` into (safe to emit, held back, stop string found)."""
    if not stop:
        return text, "", False
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    if cut >= 0:
        return text[:cut], "", True
    hold = 0
    for s in stop:
        for n in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:n]):
                hold = max(hold, n)
                break
    return text[: len(text) - hold], text[len(text) - hold:], False


def _gpu_plan(gpu_layers: GpuLayers, supported: bool, n_layers: int) -> list[int]:
    """The layer counts to try, best first: all, then halves, then the CPU."""
    if not supported:
        return [0]
    if gpu_layers != "auto":
        return [int(gpu_layers)]
    plan = [-1]
    layers = n_layers // 2
    while layers > 0:
        plan.append(layers)
        layers //= 2
    plan.append(0)
    return plan
