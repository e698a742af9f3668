"""Which of the memories an answer was given bear on its question, for front ends to show.

A chat's prompt carries the memories it used before (so the cached prompt holds) and, while
they are few, every memory; showing them all above each answer says "this was used" when it
was not about the question at all. Front ends show only those close to the question.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.knowledge.embedder import Embedder

# Cosine similarity from which a memory is about a question (all-MiniLM-L6-v2: "I prefer metric
# units" scores 0.2 against "How tall is Mont Blanc?", an unrelated pair 0.0-0.1).
MEMORY_SHOWN_SIMILARITY = 0.3


def relevant_memory_texts(embedder: Embedder, question: str, memories: Sequence[str],
                          pinned: Sequence[str] = ()) -> list[str]:
    """The ``memories`` worth showing with an answer to ``question``: the pinned ones (they go
    into every answer on purpose) and those close to it in meaning."""
    if not memories or not question.strip():
        return []
    vectors = embedder.encode([question, *memories])
    scores = vectors[1:] @ vectors[0]
    return [text for text, score in zip(memories, scores, strict=True)
            if text in pinned or float(score) >= MEMORY_SHOWN_SIMILARITY]
