"""Hybrid search over indexed documents: meaning (vectors) and exact words (full text), fused,
then, when a reranker is given, the best candidates reordered by its scores."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.config import KnowledgeSettings
from assistant.knowledge.sections import SECTION_WORDS, Passage, passages
from assistant.store import CHUNKS, Store, sql_in, sql_str

# The reranker module imports llama.cpp: imported only when a reranker is given.
if TYPE_CHECKING:
    from assistant.knowledge.embedding import TextEmbedder
    from assistant.knowledge.reranker import LlamaReranker

SNIPPET_CHARS = 240
_COLUMNS = ["id", "path", "page", "ordinal", "heading", "text", "start", "end", "vector"]
# Words count alike in a chunk's text and in its heading trail: a section whose heading is
# all it says of its subject ("E27", then "The flame went out…") is found by that word.
# A heading boost of 2 cost r1 0.08 on the retrieval benchmark (README).
WORD_FIELDS = {"text": 1.0, "heading": 1.0}
# How many ranks of each search vote on the order: the first 10 of each, not 60, put the right
# page first for 6 more questions of 127 on the retrieval benchmark (README).
FUSION_DEPTH = 10
# Chunks fetched per result: twice k, since hits next to a better one join its passage and
# leave their place to others; with a reranker three times k, so that it may lift a chunk the
# fusion ranked just below them (each chunk is one pair: about 60 ms with
# jina-reranker-v1-tiny's shape on two cores, so the budget, not this, usually ends the stage).
CHUNKS_PER_RESULT = 2
RERANK_CHUNKS_PER_RESULT = 3
RERANK_BUDGET_MS = float(KnowledgeSettings().rerank_budget_ms)


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
    # The reranker's log-odds that the passage answers; None without a reranker, or when the
    # budget ran out before this passage's best chunk was scored.
    rerank_score: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The fields the CLI prints with --json."""
        return asdict(self)


def search_knowledge(store: Store, embedder: TextEmbedder, query: str, k: int = 5,
                     folders: Sequence[Path] = (), types: Sequence[str] = (),
                     vector: np.ndarray | None = None,
                     section_words: int = SECTION_WORDS,
                     reranker: LlamaReranker | None = None,
                     rerank_budget_ms: float = RERANK_BUDGET_MS) -> list[SearchResult]:
    """The ``k`` passages that best answer ``query``, optionally within folders and file types:
    each is a matched chunk with its neighbours from the same section, up to ``section_words``
    (see ``sections``). ``vector`` is the query's, when the caller embedded it already (an
    answer does, once). With ``reranker`` (the one the core's parts hold, loaded once), the
    fused chunks are scored best first within ``rerank_budget_ms`` and the scored ones go first,
    by score; those left unscored follow in their fused order."""
    if not query.strip():
        return []
    where = _filter(folders, types)
    # The vector column comes along so that words-only matches get a similarity too (the
    # chat leaves out sources below a similarity); it is not part of the result.
    query_vector = vector if vector is not None else (lambda: embedder.encode_query(query))
    per_result = CHUNKS_PER_RESULT if reranker is None else RERANK_CHUNKS_PER_RESULT
    rows = store.search_hybrid(CHUNKS.name, query_vector, query, per_result * k,
                               where=where, columns=_COLUMNS, boosts=WORD_FIELDS,
                               depth=FUSION_DEPTH)
    if reranker is not None:
        rows = _reranked(reranker, query, rows, rerank_budget_ms)
    return [_result(passage, query) for passage in passages(store, rows, k, section_words)]


def _reranked(reranker: LlamaReranker, query: str, rows: list[dict[str, Any]],
              budget_ms: float) -> list[dict[str, Any]]:
    """``rows`` with the reranker's scores (``_rerank``), the scored first by score, then the
    unscored in their fused order (they were ranked below every scored one to begin with)."""
    from assistant.knowledge.reranker import rerank

    texts = [row["heading"] + "\n" + row["text"] if row["heading"] else row["text"]
             for row in rows]
    scores = rerank(reranker, query, texts, budget_ms)
    for row, score in zip(rows, scores, strict=True):
        row["_rerank"] = score
    scored = sorted((r for r in rows if r["_rerank"] is not None), key=lambda r: -r["_rerank"])
    return scored + [r for r in rows if r["_rerank"] is None]


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
        rerank_score=row.get("_rerank"),
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
