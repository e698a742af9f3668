"""Prompt assembly under the model's context budget.

Order of the parts: system prompt and the chat's standing memories (stable across turns, so
the KV cache reuses them), chat history, then the new user message with its numbered sources
and the memories that became relevant with it. When it doesn't fit, the oldest turns go
first, then the least relevant sources, then the turn's memories, then the standing ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.chat.events import Citation
from assistant.engine import Message
from assistant.engine.protocol import ChatEngine
from assistant.errors import ContextOverflowError

MEMORY_HEADER = "What you know about the user (they asked you to remember it):"
TURN_MEMORY_HEADER = "Also about the user (they asked you to remember it):"
# Where the instructions about sources sit was measured with `loremind bench echo` (SmolLM2-135M,
# 54 answers with the app's sampling, 33 of them with sources): heading the sources, as here,
# no answer repeated them and 3 cited; moved to the system block, 3 answers repeated them
# word for word; cut to a short label, none repeated it and none cited (README).
SOURCES_HEADER = (
    "Numbered sources from the user's documents follow. Use them when they help, and cite "
    "them like [1] right after the statement they support."
)


@dataclass
class PromptPlan:
    """The messages to send and the parts that made it in."""

    messages: list[Message]
    memories: list[str]
    citations: list[Citation]
    dropped_turns: int
    turn_memories: list[str] = field(default_factory=list)


def plan_prompt(
    model: ChatEngine,
    system_prompt: str,
    memories: Sequence[str],
    citations: Sequence[Citation],
    history: Sequence[Message],
    user_text: str,
    reserve: int,
    turn_memories: Sequence[str] = (),
) -> PromptPlan:
    """The fullest prompt that leaves ``reserve`` tokens for the answer."""
    budget = model.n_ctx - reserve
    memories, citations, history = list(memories), list(citations), list(history)
    turn = list(turn_memories)
    dropped = 0
    while True:
        messages = compose(system_prompt, memories, citations, history, user_text, turn)
        needed = model.count_tokens(messages)
        if needed <= budget:
            return PromptPlan(messages, memories, citations, dropped, turn)
        if history:
            # Drop the oldest exchange (user + assistant) so roles keep alternating.
            cut = 2 if len(history) >= 2 and history[1]["role"] == "assistant" else 1
            del history[:cut]
            dropped += cut
        elif citations:
            citations.pop()
        elif turn:
            turn.pop()
        elif memories:
            memories.pop()
        else:
            raise ContextOverflowError(needed + reserve, model.n_ctx)


def compose(
    system_prompt: str,
    memories: Sequence[str],
    citations: Sequence[Citation],
    history: Sequence[Message],
    user_text: str,
    turn_memories: Sequence[str] = (),
) -> list[Message]:
    """The chat messages for these parts, in the order that keeps the cached prefix stable."""
    system = system_prompt
    if memories:
        system += "\n\n" + MEMORY_HEADER + "\n" + "\n".join(f"- {m}" for m in memories)
    parts = []
    if citations:
        sources = "\n\n".join(_source_block(c) for c in citations)
        parts.append(f"{SOURCES_HEADER}\n\n{sources}")
    if turn_memories:
        parts.append(TURN_MEMORY_HEADER + "\n" + "\n".join(f"- {m}" for m in turn_memories))
    user = "\n\n".join([*parts, f"Question: {user_text}"]) if parts else user_text
    return [{"role": "system", "content": system}, *history, {"role": "user", "content": user}]


def instruction_texts(system_prompt: str) -> list[str]:
    """Every text the prompt adds around the user's words (what an answer must not repeat)."""
    return [system_prompt, SOURCES_HEADER, MEMORY_HEADER, TURN_MEMORY_HEADER]


def _source_block(citation: Citation) -> str:
    where = citation.path
    if citation.page:
        where += f", page {citation.page}"
    if citation.heading:
        where += f", {citation.heading}"
    return f"[{citation.number}] ({where})\n{citation.text.strip()}"
