"""Hybrid search over indexed documents: meaning (vectors) and exact words (full text), fused."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.knowledge.embedder import Embedder
from assistant.knowledge.sections import SECTION_WORDS, Passage, passages
from assistant.store import CHUNKS, Store, sql_in, sql_str

SNIPPET_CHARS = 240
_COLUMNS = ["id", "path", "page", "ordinal", "heading", "text", "start", "end", "vector"]
# Words count alike in a chunk's text and in its heading trail: a section whose heading is
# all it says of its subject ("E27", then "The flame went out…") is found by that word.
# A heading boost of 2 cost r1 0.08 on the retrieval benchmark (README).
WORD_FIELDS = {"text": 1.0, "heading": 1.0}
# How many ranks of each search vote on the order: the first 10 of each, not 60, put the right
# page first for 6 more questions of 127 on the retrieval benchmark (README).
FUSION_DEPTH = 10


@dataclass
class SearchResult:
    """One cited passage: where it is (path, page, heading), how well it matched, its text."""

    path: str
    page: int | None
    heading: str
    score: float
    text: str
    snippet: str
    start: int
    end: int
    similarity: float | None = None  # cosine to the query (None only for rows without vectors)

    def to_json(self) -> dict[str, Any]:
        """The fields the CLI prints with --json."""
        return asdict(self)


def search_knowledge(store: Store, embedder: Embedder, query: str, k: int = 5,
                     folders: Sequence[Path] = (), types: Sequence[str] = (),
                     vector: np.ndarray | None = None,
                     section_words: int = SECTION_WORDS) -> list[SearchResult]:
    """The ``k`` passages that best answer ``query``, optionally within folders and file types:
    each is a matched chunk with its neighbours from the same section, up to ``section_words``
    (see ``sections``). ``vector`` is the query's, when the caller embedded it already (an
    answer does, once)."""
    if not query.strip():
        return []
    where = _filter(folders, types)
    # The vector column comes along so that words-only matches get a similarity too (the
    # chat leaves out sources below a similarity); it is not part of the result. Twice k
    # chunks: hits next to a better one join its passage and leave their place to others.
    query_vector = vector if vector is not None else (lambda: embedder.encode_query(query))
    rows = store.search_hybrid(CHUNKS.name, query_vector, query, 2 * k,
                               where=where, columns=_COLUMNS, boosts=WORD_FIELDS,
                               depth=FUSION_DEPTH)
    return [_result(passage, query) for passage in passages(store, rows, k, section_words)]


def _filter(folders: Sequence[Path], types: Sequence[str]) -> str | None:
    clauses = []
    if folders:
        parts = []
        for folder in folders:
            # os.path.expanduser leaves "~nosuchuser" as it is, where Path's raises.
            root = str(Path(os.path.expanduser(folder)).resolve())
            # Any path below the folder, whichever watched folder it was indexed under.
            parts.append(f"(path = {sql_str(root)} OR path LIKE {sql_str(_like_prefix(root))})")
        clauses.append("(" + " OR ".join(parts) + ")")
    if types:
        exts = ["." + t.lower().lstrip(".") for t in types]
        clauses.append(sql_in("ext", exts))
    return " AND ".join(clauses) or None


def _like_prefix(root: str) -> str:
    escaped = root.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.rstrip("/") + "/%"


def _result(passage: Passage, query: str) -> SearchResult:
    row = passage.best
    text, start, end = passage.text_and_span()
    return SearchResult(
        path=row["path"],
        page=row["page"] or None,
        heading=row["heading"],
        score=round(float(row["_score"]), 6),
        text=text,
        snippet=snippet(row["text"], query),  # from the chunk that matched
        start=start,
        end=end,
        similarity=1.0 - float(row["_distance"]) if row.get("_distance") is not None else None,
    )


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """A window of ``text`` around the first query word it contains (else its beginning)."""
    flat = " ".join(text.split())
    lower = flat.lower()
    hits = [lower.find(w) for w in query.lower().split() if len(w) > 2 and w in lower]
    at = min(hits) if hits else 0
    begin = max(0, at - width // 3)
    piece = flat[begin:begin + width]
    return ("…" if begin else "") + piece + ("…" if begin + width < len(flat) else "")
