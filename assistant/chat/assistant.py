"""The Assistant facade: one place that turns a user's message into a stream of typed events.

It gathers what the answer may draw on (memories, knowledge, the chat's history and adapters),
fits it into the model's context, streams the answer, stores the turn, and proposes memories
from the user's own words. The GUI, the quick-ask popup and the CLI all go through ``ask``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.chat.chat_settings import apply_chat_settings
from assistant.chat.conversations import ChatMessage, ChatSession, Conversations
from assistant.chat.events import (
    AnswerStats,
    Citation,
    Done,
    Event,
    Failed,
    MemoriesUsed,
    MemoryProposed,
    Notice,
    Sources,
    Token,
)
from assistant.chat.memory_choice import chat_memories, last_used
from assistant.chat.prompt import plan_prompt
from assistant.chat.starting import StartingAnswers
from assistant.chat.versions import keeping_versions, stats_record
from assistant.config import Settings
from assistant.engine import Message, SamplingParams
from assistant.engine.adapters import AdapterLibrary, AdapterSet
from assistant.engine.factory import open_adapters, open_engine
from assistant.engine.protocol import ChatEngine
from assistant.engine.remote_adapters import RemoteAdapters
from assistant.errors import AdapterError, LoremindError
from assistant.memory.extraction import explicit_request, extract_candidates, worth_extracting
from assistant.paths import AppPaths
from assistant.statuses import FinishReason, MemoryStatus

# The store, the memory book and knowledge search import LanceDB, the embedder torch: each is
# imported where it is first used, so that a first answer (which may do without them while they
# load, see load_knowledge) needs only llama.cpp and the model.
if TYPE_CHECKING:
    from assistant.knowledge.embedder import Embedder
    from assistant.memory.book import Memory, MemoryBook
    from assistant.store import Store

log = logging.getLogger(__name__)
# Below this cosine, a chunk is not about the question: leave it out. Measured on the
# retrieval benchmark's index (README): of 20 general questions, "What time is it in Tokyo?"
# reaches 0.346 (PostgreSQL's time zones) and "What's the weather like tomorrow?" 0.332 (its
# 'tomorrow' date literal), the rest 0.29 at best; "Explain how a heart valve works" 0.317 on a
# boiler manual. Of the 112 benchmark questions whose right page is in the top 5, 107 keep it
# at 0.35 (110 at 0.32, which let those two general questions cite the date/time pages).
MIN_SOURCE_SIMILARITY = 0.35
TITLE_CHARS = 48
# The longest the store and the embedder wait for a first answer's first token at start-up
# (a long chat's prompt can take that long on a slow machine; the next answers need them).
FIRST_TOKEN_HEAD_START_S = 10.0


@dataclass
class AskOptions:
    """Per-answer choices; the defaults come from the settings."""

    use_knowledge: bool = True
    use_memory: bool = True
    knowledge_k: int = 4
    sampling: SamplingParams | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    system_prompt: str | None = None  # None: the chat's own, else the settings'
    knowledge_folders: list[str] | None = None  # None: every watched folder
    # An answer for another app (Connections) runs in a temporary chat, yet may read the
    # memories the user lets that app read: it still stores and proposes nothing.
    temporary_reads_memory: bool = False


class Assistant:
    """Owns the model, the embedder and the store for one process; load them lazily."""

    def __init__(self, settings: Settings, paths: AppPaths, *, model: ChatEngine | None = None,
                 embedder: Embedder | None = None, store: Store | None = None,
                 knowledge_loading: threading.Event | None = None) -> None:
        self.settings = settings
        self.paths = paths
        self._model = model
        self._embedder = embedder
        self._store = store
        self._adapters: AdapterLibrary | RemoteAdapters | None = None
        # One lock per part, so that the model and the embedder can load in parallel.
        self._model_lock = threading.Lock()
        self._embedder_lock = threading.Lock()
        self._store_lock = threading.Lock()
        # Set while the store and the embedder load on another thread (load_knowledge), or
        # from when a front end says they will (the core's mark_knowledge_loading): answers
        # asked meanwhile do without documents and memories instead of loading them themselves.
        self._knowledge_loading = knowledge_loading or threading.Event()
        self._starting = StartingAnswers()

    # -- components, loaded on first use -----------------------------------------------------

    @property
    def model(self) -> ChatEngine:
        with self._model_lock:
            if self._model is None:
                self._model = open_engine(self.settings.model, seed=self.settings.generation.seed)
            return self._model

    @property
    def loaded_model(self) -> ChatEngine | None:
        """The model if it is loaded (None while it loads, or when it failed): never loads it."""
        return self._model

    @property
    def embedder(self) -> Embedder:
        with self._embedder_lock:
            if self._embedder is None:
                from assistant.knowledge.embedder import Embedder

                self._embedder = Embedder()
            return self._embedder

    @property
    def store(self) -> Store:
        with self._store_lock:
            if self._store is None:
                from assistant.database import open_app_database

                self._store = open_app_database(self.paths, self.settings.store)
            return self._store

    @property
    def adapters(self) -> AdapterLibrary | RemoteAdapters:
        """The LoRA adapters of the loaded model (created on first use)."""
        model = self.model
        with self._model_lock:
            if self._adapters is None or self._adapters.model is not model:
                self._adapters = open_adapters(model, self.paths, self.settings.adapters,
                                               self.settings.model)
            return self._adapters

    @cached_property
    def memory(self) -> MemoryBook:
        from assistant.memory.book import MemoryBook

        return MemoryBook(self.store, self.embedder)

    @cached_property
    def conversations(self) -> Conversations:
        return Conversations(self.store, self.embedder)

    def replace_model(self, model: ChatEngine) -> None:
        """Switch to another loaded model (the settings changed); the old one is freed."""
        with self._model_lock:
            old, self._model = self._model, model
            library, self._adapters = self._adapters, None
        if library is not None:
            library.close()
        if old is not None and old is not model:
            old.close()

    def close(self) -> None:
        """Free the model's memory."""
        with self._model_lock:
            if self._adapters is not None:
                self._adapters.close()
                self._adapters = None
            if self._model is not None:
                self._model.close()
                self._model = None

    # -- chats -------------------------------------------------------------------------------

    def new_session(self, temporary: bool = False) -> ChatSession:
        """A new chat; a temporary one is never stored and never touches memory (every chat is
        temporary on a shared store that another machine writes)."""
        return ChatSession(temporary=temporary or bool(self.store.read_only_reason))

    def set_adapters(self, session: ChatSession, adapters: list[tuple[str, float]]) -> None:
        """Choose a chat's adapters (name, scale); they apply from its next answer. Raises
        :class:`AdapterError` for an unknown or incompatible adapter."""
        chosen = [(self.adapters.catalog.find(name), float(scale)) for name, scale in adapters]
        for info, _ in chosen:
            if not info.compatible:
                raise AdapterError(f"{info.path.name} cannot be used with this model: "
                                   f"{info.reason}.")
        session.adapters = AdapterSet.of(chosen).to_list()
        if not session.temporary and session.messages:
            self.conversations.save_session(session)

    def load_knowledge(self) -> None:
        """Open the store and load the embedder now (the app does it in the background at
        start-up); an answer asked meanwhile starts at once, without documents and memories,
        instead of waiting some seconds for torch to import."""
        self._knowledge_loading.set()
        try:
            # A model loading now goes first, and so does an answer reading its prompt: importing
            # LanceDB and torch takes seconds of CPU, and on a small machine it would slow down
            # the model and the first answer it is for.
            with self._model_lock:
                pass
            self._starting.wait(FIRST_TOKEN_HEAD_START_S)
            _ = self.store
            _ = self.embedder
        finally:
            self._knowledge_loading.clear()

    @property
    def knowledge_loading(self) -> bool:
        """Whether the store and the embedder are loading on another thread (answers asked
        meanwhile do without documents and memories)."""
        return self._knowledge_loading.is_set()

    def ask(self, session: ChatSession, text: str,
            options: AskOptions | None = None) -> Iterator[Event]:
        """Answer ``text`` in ``session``, as a stream of events ending in Done or Failed."""
        return self._answer(session, text, options or AskOptions(), new_turn=True)

    def regenerate(self, session: ChatSession,
                   options: AskOptions | None = None) -> Iterator[Event]:
        """Answer the last user message again, replacing the last answer."""
        last_user = _last_user_index(session)
        text = session.messages[last_user].text
        earlier = session.messages[last_user + 1:last_user + 2]
        self._truncate(session, last_user + 1)
        events = self._answer(session, text, options or AskOptions(), new_turn=False)
        return keeping_versions(events, session, earlier[0], self.conversations) \
            if earlier else events

    def edit_last(self, session: ChatSession, text: str,
                  options: AskOptions | None = None) -> Iterator[Event]:
        """Replace the last user message with ``text`` and answer it afresh."""
        self._truncate(session, _last_user_index(session))
        return self._answer(session, text, options or AskOptions(), new_turn=True)

    # -- the answer ----------------------------------------------------------------------------

    def _answer(self, session: ChatSession, text: str, options: AskOptions,
                new_turn: bool) -> Iterator[Event]:
        options = apply_chat_settings(options, session.settings, self.settings.generation)
        with self._starting.answer() as started:
            try:
                yield from self._answer_steps(session, text, options, new_turn, started)
            except LoremindError as exc:
                yield Failed(exc)
            except Exception as exc:  # never let a bug kill the GUI's worker thread silently
                log.exception("Answering failed")
                yield Failed(LoremindError(f"Something went wrong while answering: {exc}"))

    def _answer_steps(self, session: ChatSession, text: str, options: AskOptions,
                      new_turn: bool, started: Callable[[], None]) -> Iterator[Event]:
        text = text.strip()
        if not text:
            raise LoremindError("Type a message first.")
        # Just after start-up the embedder (torch) may still be loading on another thread: the
        # first answer starts at once without documents and memories instead of waiting.
        warming = self._knowledge_loading.is_set() and self._embedder is None
        reading = (not warming and options.use_memory
                   and (not session.temporary or options.temporary_reads_memory)
                   and not self.memory.paused)
        remembering = reading and not session.temporary
        earlier = session.messages if new_turn else session.messages[:-1]
        # Earlier turns exactly as the model read them (questions with their sources), so the
        # prompt's prefix matches the cache and a follow-up costs only its new tokens.
        history: list[Message] = [{"role": m.role, "content": m.prompt_text}
                                  for m in earlier if m.role in ("user", "assistant")]
        user = ChatMessage("user", text) if new_turn else session.messages[-1]

        explicit = explicit_request(text) if remembering else None
        saved_now = self.memory.remember(explicit, session_id=session.id,
                                         message_id=user.id) if explicit else None
        memories = chat_memories(last_used(earlier), self.memory.list(MemoryStatus.ACTIVE),
                                 self.memory.relevant(text)) if reading else []
        citations = (self._citations(text, options)
                     if options.use_knowledge and not warming else [])
        gen = self.settings.generation
        params = options.sampling or SamplingParams.from_settings(gen)
        plan = plan_prompt(self.model, options.system_prompt or gen.system_prompt,
                           [m.text for m in memories],
                           citations, history, text, reserve=min(params.max_tokens, 1024))
        used = [m for m in memories if m.text in plan.memories]
        sent = plan.messages[-1]["content"]
        user.sent_text = sent if sent != text else ""
        if not warming:
            self._store_question(session, user, new_turn)
        yield Sources(plan.citations)
        yield MemoriesUsed(used)
        if warming and (options.use_knowledge or options.use_memory):
            yield Notice("Your documents and memories are still loading: this answer does "
                         "without them.")

        with self.model.lock:  # no other chat may switch adapters until this answer is done
            adapters, warnings = self._apply_adapters(session)
            for warning in warnings:
                yield Notice(warning)
            stream = self.model.stream_chat(plan.messages, params, cancel=options.cancel)
            for piece in stream:
                started()
                yield Token(piece)
        answer = ChatMessage("assistant", stream.text.strip(),
                             sources=[c.to_json() for c in plan.citations],
                             memories_used=[{"id": m.id, "text": m.text} for m in used])
        if answer.text != stream.text:
            answer.sent_text = stream.text  # what the cache holds, spaces and all
        answer.stats = stats_record(stream.stats, adapters)
        if warming:  # stored once the answer is out: storing embeds it, which waits for torch
            self._store_question(session, user, new_turn)
        session.messages.append(answer)
        if not session.temporary:
            self.conversations.append(session, answer)

        if saved_now is not None:
            yield MemoryProposed(saved_now)
        cancelled = stream.stats.finish_reason == FinishReason.CANCELLED
        if remembering and worth_extracting(text) and not cancelled:
            yield from self._propose(text, session, user)
        stats = stream.stats
        yield Done(answer.text, AnswerStats(
            prompt_tokens=stats.prompt_tokens, evaluated_tokens=stats.evaluated_tokens,
            completion_tokens=stats.completion_tokens, ttft_s=stats.ttft_s,
            seconds=stats.seconds, finish_reason=stats.finish_reason, adapters=adapters,
            dropped_turns=plan.dropped_turns, engine=self.model.engine_label), answer.id)

    def _store_question(self, session: ChatSession, user: ChatMessage, new_turn: bool) -> None:
        """Add a new question to the chat (stored with what the model is given for it), or
        record what a regenerated answer's question is given now."""
        if not new_turn:
            if not session.temporary:
                self.conversations.update_sent_text(session, user)
            return
        session.messages.append(user)
        if not session.temporary:
            if session.title == "New chat":
                session.title = _title(user.text)
            session.model = self.model.model_id
            self.conversations.append(session, user)

    def _citations(self, text: str, options: AskOptions) -> list[Citation]:
        from assistant.knowledge.search import search_knowledge

        results = search_knowledge(self.store, self.embedder, text, options.knowledge_k,
                                   [Path(f) for f in options.knowledge_folders or ()])
        # Every result has a similarity, words-only matches too: a shared word ("water") is
        # not enough to make a document a source for a general question.
        relevant = [r for r in results
                    if r.similarity is not None and r.similarity >= MIN_SOURCE_SIMILARITY]
        return [Citation(n, r.path, r.page or 0, r.heading, r.text, r.score)
                for n, r in enumerate(relevant, start=1)]

    def _propose(self, text: str, session: ChatSession,
                 user: ChatMessage) -> Iterator[MemoryProposed]:
        auto = self.settings.memory.mode == "auto"
        for candidate in extract_candidates(self.model, text):
            memory = self.memory.propose(candidate, auto_approve=auto, session_id=session.id,
                                         message_id=user.id)
            if memory is not None:
                yield MemoryProposed(memory, self._replaced(memory))

    def _replaced(self, memory: Memory) -> Memory | None:
        if not memory.replaces:
            return None
        try:
            return self.memory.get(memory.replaces)
        except LoremindError:
            return None

    def _apply_adapters(self, session: ChatSession) -> tuple[list[dict], tuple[str, ...]]:
        """Switch the model to this chat's adapters and KV state: (what was applied,
        warnings). The state of the chat the cache held before is saved first, so going back
        to that chat does not read it again."""
        model = self.model
        if not session.adapters and self._adapters is None:
            # No chat has used adapters yet: nothing to switch off.
            key = chat_state_key(session.id, [])
            model.leave_chat(key)
            model.enter_chat(key)
            return [], ()
        resolved = self.adapters.resolve(AdapterSet.from_list(session.adapters))
        applied = AdapterSet.of(resolved.adapters).to_list()
        key = chat_state_key(session.id, applied)
        model.leave_chat(key)
        self.adapters.apply(resolved.adapters)
        model.enter_chat(key)
        return applied, resolved.warnings

    def _truncate(self, session: ChatSession, keep: int) -> None:
        if not session.temporary:
            self.conversations.truncate(session, keep)
        del session.messages[keep:]


def chat_state_key(session_id: str, adapters: list[dict[str, Any]]) -> tuple[str, str]:
    """What a chat's saved KV state is filed under: the chat and the adapter set (with the
    files' hashes) that computed it."""
    return session_id, json.dumps(adapters, sort_keys=True)


def _last_user_index(session: ChatSession) -> int:
    for index in range(len(session.messages) - 1, -1, -1):
        if session.messages[index].role == "user":
            return index
    raise LoremindError("This chat has no message to answer again.")


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"
