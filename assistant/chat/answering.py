"""Answering: one place that turns a user's message into a stream of typed events.

It gathers what the answer may draw on (memories, knowledge, the chat's history and adapters),
fits it into the model's context, streams the answer, stores the turn, and proposes memories
from the user's own words. It runs on parts the core owns (:class:`AnswerParts`); the core runs
it on its model lane, for the GUI, the quick-ask popup and the CLI alike.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.chat.chat_settings import apply_chat_settings
from assistant.chat.conversations import ChatMessage, ChatSession
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
from assistant.chat.memory_choice import (
    MemoryChoice,
    answers_memories,
    choose_memories,
    used_record,
)
from assistant.chat.prompt import plan_prompt
from assistant.chat.sources import PromptSpeed, choose_sources
from assistant.chat.starting import StartingAnswers
from assistant.chat.versions import keeping_versions, stats_record
from assistant.config import Settings
from assistant.engine import Message, SamplingParams
from assistant.engine.adapters import AdapterSet
from assistant.engine.protocol import ChatEngine
from assistant.errors import LoremindError, ModelError
from assistant.memory.extraction import explicit_request, extract_candidates, worth_extracting
from assistant.statuses import FinishReason, MemoryStatus

# The store, the memory book and knowledge search import LanceDB, the embedder torch: each is
# imported where it is first used, so that a first answer (which may do without them while they
# load) needs only llama.cpp and the model.
if TYPE_CHECKING:
    import numpy as np

    from assistant.chat.conversations import Conversations
    from assistant.engine.adapters import AdapterLibrary
    from assistant.engine.remote_adapters import RemoteAdapters
    from assistant.knowledge.embedding import TextEmbedder
    from assistant.knowledge.reranker import LlamaReranker
    from assistant.memory.book import Memory, MemoryBook
    from assistant.store import Store

log = logging.getLogger(__name__)
TITLE_CHARS = 48


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


class AnswerParts(Protocol):
    """What answering needs from the core's parts (:class:`assistant.core.parts.Parts`)."""

    settings: Settings
    starting: StartingAnswers

    @property
    def model(self) -> ChatEngine: ...
    @property
    def embedder(self) -> TextEmbedder: ...
    @property
    def store(self) -> Store: ...
    @property
    def adapters(self) -> AdapterLibrary | RemoteAdapters: ...
    @property
    def adapters_in_use(self) -> bool: ...
    @property
    def memory(self) -> MemoryBook: ...
    @property
    def conversations(self) -> Conversations: ...
    @property
    def warming(self) -> bool: ...


@dataclass(frozen=True)
class TurnIds:
    """The ids the question and the answer of one turn will have, known before it runs, so a
    front end can tell the turn in flight from the stored ones."""

    question: str = field(default_factory=lambda: uuid.uuid4().hex)
    answer: str = field(default_factory=lambda: uuid.uuid4().hex)


class Answerer:
    """Turns a user's message into a stream of events, on the parts the core owns."""

    def __init__(self, parts: AnswerParts,
                 reranker: Callable[[], LlamaReranker | None] = lambda: None) -> None:
        """``reranker`` gives the reranker the core's parts hold (loaded once, shared with
        ``loremind search``), or None when ``[knowledge] reranker`` names none; it is asked
        at each answer, so a reranker chosen later is used from the next answer on."""
        self.parts = parts
        self.reranker = reranker
        # How fast the model reads prompts, measured on every answer: it sizes the sources.
        self.prompt_speed = PromptSpeed()

    def ask(self, session: ChatSession, text: str, options: AskOptions | None = None,
            ids: TurnIds | None = None) -> Iterator[Event]:
        """Answer ``text`` in ``session``, as a stream of events ending in Done or Failed."""
        return self._answer(session, text, options or AskOptions(), ids or TurnIds(),
                            new_turn=True)

    def regenerate(self, session: ChatSession, options: AskOptions | None = None,
                   ids: TurnIds | None = None) -> Iterator[Event]:
        """Answer the last user message again, replacing the last answer."""
        last_user = _last_user_index(session)
        text = session.messages[last_user].text
        earlier = session.messages[last_user + 1:last_user + 2]
        self._truncate(session, last_user + 1)
        events = self._answer(session, text, options or AskOptions(), ids or TurnIds(),
                              new_turn=False)
        return keeping_versions(events, session, earlier[0], self.parts.conversations) \
            if earlier else events

    def edit_last(self, session: ChatSession, text: str, options: AskOptions | None = None,
                  ids: TurnIds | None = None) -> Iterator[Event]:
        """Replace the last user message with ``text`` and answer it afresh."""
        self._truncate(session, _last_user_index(session))
        return self._answer(session, text, options or AskOptions(), ids or TurnIds(),
                            new_turn=True)

    # -- the answer ----------------------------------------------------------------------------

    def _answer(self, session: ChatSession, text: str, options: AskOptions, ids: TurnIds,
                new_turn: bool) -> Iterator[Event]:
        options = apply_chat_settings(options, session.settings, self.parts.settings.generation)
        with self.parts.starting.answer() as started:
            try:
                yield from self._answer_steps(session, text, options, ids, new_turn, started)
            except LoremindError as exc:
                yield Failed(exc)
            except Exception as exc:  # never let a bug kill the worker thread silently
                log.exception("Answering failed")
                yield Failed(LoremindError(f"Something went wrong while answering: {exc}"))

    def _answer_steps(self, session: ChatSession, text: str, options: AskOptions, ids: TurnIds,
                      new_turn: bool, started: Callable[[], None]) -> Iterator[Event]:
        parts = self.parts
        text = text.strip()
        if not text:
            raise LoremindError("Type a message first.")
        # Just after start-up the embedder (torch) may still be loading on another lane: the
        # first answer starts at once without documents and memories instead of waiting.
        warming = parts.warming
        if not warming and not session.temporary and parts.store.read_only_reason:
            session.temporary = True  # a library another machine writes, or a read-only folder
            yield Notice(f"{parts.store.read_only_reason} This chat is temporary: nothing of "
                         "it is stored.")
        reading = (not warming and options.use_memory
                   and (not session.temporary or options.temporary_reads_memory)
                   and not parts.memory.paused)
        remembering = reading and not session.temporary
        searching = options.use_knowledge and not warming
        # The question is embedded once, and its vector serves memory choice, the document
        # search and the stored message alike.
        vector = (parts.embedder.encode_query(text)
                  if reading or searching or (not warming and not session.temporary)
                  else None)
        earlier = session.messages if new_turn else session.messages[:-1]
        # Earlier turns exactly as the model read them (questions with their sources), so the
        # prompt's prefix matches the cache and a follow-up costs only its new tokens.
        history: list[Message] = [{"role": m.role, "content": m.prompt_text}
                                  for m in earlier if m.role in ("user", "assistant")]
        user = ChatMessage("user", text, id=ids.question) if new_turn else session.messages[-1]

        explicit = explicit_request(text) if remembering else None
        saved_now = parts.memory.remember(explicit, session_id=session.id,
                                          message_id=user.id) if explicit else None
        chosen = (choose_memories(answers_memories(earlier),
                                  parts.memory.list(MemoryStatus.ACTIVE),
                                  parts.memory.relevant(text, vector))
                  if reading else MemoryChoice())
        citations: list[Citation] = []
        if searching:
            reranker = self._reranker_or_none()
            if isinstance(reranker, ModelError):
                yield Notice(f"{reranker} This answer's sources are not reranked.")
                reranker = None
            citations = self._citations(text, vector, options, reranker)
        gen = parts.settings.generation
        params = options.sampling or SamplingParams.from_settings(gen)
        plan = plan_prompt(parts.model, options.system_prompt or gen.system_prompt,
                           [m.text for m in chosen.chat], citations, history, text,
                           reserve=min(params.max_tokens, 1024),
                           turn_memories=[m.text for m in chosen.turn])
        # Exactly what the prompt holds of this turn's memories, and what the answer shows.
        given = MemoryChoice([m for m in chosen.chat if m.text in plan.memories],
                             [m for m in chosen.turn if m.text in plan.turn_memories])
        used = [*given.chat, *given.turn]
        sent = plan.messages[-1]["content"]
        user.sent_text = sent if sent != text else ""
        if not warming:
            self._store_question(session, user, new_turn, vector)
        yield Sources(plan.citations)
        yield MemoriesUsed(used)
        if warming and (options.use_knowledge or options.use_memory):
            yield Notice("Your documents and memories are still loading: this answer does "
                         "without them.")

        model = parts.model
        if model.template_note and not any(m.role == "assistant" for m in earlier):
            yield Notice(model.template_note)  # once per chat: a base model rambles
        with model.lock:  # no other chat may switch adapters until this answer is done
            adapters, warnings = self._apply_adapters(session)
            for warning in warnings:
                yield Notice(warning)
            stream = model.stream_chat(plan.messages, params, cancel=options.cancel)
            for piece in stream:
                started()
                yield Token(piece)
        self.prompt_speed.observe(model.model_id, stream.stats.evaluated_tokens,
                                  stream.stats.ttft_s)
        answer = ChatMessage("assistant", stream.text.strip(), id=ids.answer,
                             sources=[c.to_json() for c in plan.citations],
                             memories_used=used_record(given))
        if answer.text != stream.text:
            answer.sent_text = stream.text  # what the cache holds, spaces and all
        answer.stats = stats_record(stream.stats, adapters, model.engine_label)
        if warming:  # stored once the answer is out: storing embeds it, which waits for torch
            self._store_question(session, user, new_turn, None)
        session.messages.append(answer)
        if not session.temporary:
            parts.conversations.append(session, answer)

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
            dropped_turns=plan.dropped_turns, engine=model.engine_label), answer.id)

    def _store_question(self, session: ChatSession, user: ChatMessage, new_turn: bool,
                        vector: np.ndarray | None) -> None:
        """Add a new question to the chat (stored with what the model is given for it, and the
        question's vector when it was embedded already), or record what a regenerated answer's
        question is given now."""
        conversations = self.parts.conversations
        if not new_turn:
            if not session.temporary:
                conversations.update_sent_text(session, user)
            return
        session.messages.append(user)
        if not session.temporary:
            if session.title == "New chat":
                session.title = _title(user.text)
            session.model = self.parts.model.model_id
            conversations.append(session, user, vector)

    def _reranker_or_none(self) -> LlamaReranker | ModelError | None:
        """The reranker in use, or why the one the settings name cannot be used (a file that
        went away or broke): the answer goes on without reranking."""
        try:
            return self.reranker()
        except ModelError as exc:
            return exc

    def _citations(self, text: str, vector: np.ndarray | None, options: AskOptions,
                   reranker: LlamaReranker | None) -> list[Citation]:
        model = self.parts.model
        knowledge = self.parts.settings.knowledge
        return choose_sources(self.parts.store, self.parts.embedder, model, text,
                              options.knowledge_k,
                              [Path(f) for f in options.knowledge_folders or ()],
                              vector=vector, budget=self.prompt_speed.budget(
                                  model.model_id, knowledge.source_seconds),
                              reranker=reranker,
                              rerank_budget_ms=knowledge.rerank_budget_ms)

    def _propose(self, text: str, session: ChatSession,
                 user: ChatMessage) -> Iterator[MemoryProposed]:
        auto = self.parts.settings.memory.mode == "auto"
        memory_book = self.parts.memory
        for candidate in extract_candidates(self.parts.model, text):
            memory = memory_book.propose(candidate, auto_approve=auto, session_id=session.id,
                                         message_id=user.id)
            if memory is not None:
                yield MemoryProposed(memory, self._replaced(memory))

    def _replaced(self, memory: Memory) -> Memory | None:
        if not memory.replaces:
            return None
        try:
            return self.parts.memory.get(memory.replaces)
        except LoremindError:
            return None

    def _apply_adapters(self, session: ChatSession) -> tuple[list[dict], tuple[str, ...]]:
        """Switch the model to this chat's adapters and KV state: (what was applied,
        warnings). The state of the chat the cache held before is saved first, so going back
        to that chat does not read it again."""
        model = self.parts.model
        if not session.adapters and not self.parts.adapters_in_use:
            # No chat has used adapters yet: nothing to switch off.
            key = chat_state_key(session.id, [])
            model.leave_chat(key)
            model.enter_chat(key)
            return [], ()
        library = self.parts.adapters
        resolved = library.resolve(AdapterSet.from_list(session.adapters))
        applied = AdapterSet.of(resolved.adapters).to_list()
        key = chat_state_key(session.id, applied)
        model.leave_chat(key)
        library.apply(resolved.adapters)
        model.enter_chat(key)
        return applied, resolved.warnings

    def _truncate(self, session: ChatSession, keep: int) -> None:
        if not session.temporary:
            self.parts.conversations.truncate(session, keep)
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
