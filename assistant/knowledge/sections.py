"""Retrieve small, cite the section: a matched chunk grows into the passage around it.

Chunks are small so that a vector means one thing, but the sentence that answers a question is
often just before or after the sentences that matched it ("How often does autovacuum wake up?"
matches the paragraph naming the launcher; the default is in the next one). A hit is therefore
cited with its neighbours from the same section, and several hits from one passage become one
result, which leaves room for other passages. On the retrieval benchmark this raised needle5
from 0.597 to 0.694 (README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.store import CHUNKS, Store, sql_in

# What a cited passage may grow to, in words, with its neighbours (a chunk is about 100).
SECTION_WORDS = 320
_NEIGHBOUR_COLUMNS = ["path", "ordinal", "heading", "text", "start", "end"]


@dataclass
class Passage:
    """The chunks one result cites, in document order, and the best-ranked row among them."""

    best: dict[str, Any]
    chunks: dict[int, dict[str, Any]] = field(default_factory=dict)
    words: int = SECTION_WORDS  # what the passage may grow to

    @property
    def key(self) -> tuple[str, str]:
        return self.best["path"], self.best["heading"]

    def touches(self, row: dict[str, Any]) -> bool:
        """Whether ``row`` is in this passage's section and next to (or inside) its chunks."""
        ordinal = row["ordinal"]
        return ((row["path"], row["heading"]) == self.key
                and min(self.chunks) - 1 <= ordinal <= max(self.chunks) + 1)

    def fits(self, row: dict[str, Any]) -> bool:
        """Whether ``row`` keeps the passage within its ``words``."""
        words = sum(len(chunk["text"].split()) for chunk in self.chunks.values())
        return words + len(row["text"].split()) <= self.words

    def text_and_span(self) -> tuple[str, int, int]:
        """The passage's text, overlapping chunk edges joined once, and its character span."""
        ordered = [self.chunks[o] for o in sorted(self.chunks)]
        text, end = ordered[0]["text"], ordered[0]["end"]
        for chunk in ordered[1:]:
            if chunk["start"] < end:  # chunks overlap a little: keep the overlap once
                text += chunk["text"][end - chunk["start"]:]
            else:
                text += "\n" + chunk["text"]
            end = max(end, chunk["end"])
        return text, ordered[0]["start"], end


def passages(store: Store, rows: Sequence[dict[str, Any]], k: int,
             words: int = SECTION_WORDS) -> list[Passage]:
    """The ``k`` best passages from ranked chunk ``rows``: a row next to a better one of the
    same section joins it while the passage stays within ``words`` (else it starts its own),
    and each passage then takes its section neighbours as far as they fit."""
    chosen: list[Passage] = []
    for row in rows:
        home = next((p for p in chosen if p.touches(row)), None)
        if home is not None and home.fits(row):
            home.chunks[row["ordinal"]] = row
        elif len(chosen) < k:
            chosen.append(Passage(row, {row["ordinal"]: row}, words))
    _widen(store, chosen)
    return chosen


def _widen(store: Store, chosen: Sequence[Passage]) -> None:
    """Add each passage's neighbours before and after it (same section) while they fit."""
    wanted = {(p.best["path"], o) for p in chosen
              for o in (min(p.chunks) - 1, max(p.chunks) + 1) if o >= 0}
    if not wanted:
        return
    # The pages' rows come through the index on path; the ordinals narrow them to a few.
    where = (sql_in("path", sorted({path for path, _ in wanted})) + " AND ordinal IN ("
             + ", ".join(str(o) for o in sorted({o for _, o in wanted})) + ")")
    found = {(r["path"], r["ordinal"]): r
             for r in store.rows(CHUNKS.name, where, _NEIGHBOUR_COLUMNS)
             if (r["path"], r["ordinal"]) in wanted}
    for passage in chosen:
        # The chunk after first: an answer more often follows the words that match it.
        for ordinal in (max(passage.chunks) + 1, min(passage.chunks) - 1):
            row = found.get((passage.best["path"], ordinal))
            if row is not None and passage.touches(row) and passage.fits(row):
                passage.chunks[ordinal] = row
