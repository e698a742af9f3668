"""Reciprocal rank fusion: merge ranked lists from different searches into one ranking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RRF_K = 60  # the usual constant: damps the weight of the very first ranks
TIE_BREAK_WEIGHT = 1e-4  # far below one rank step: only decides between equal rank sums


def rrf_fuse(
    rankings: Sequence[Sequence[dict[str, Any]]],
    key: str,
    k: int,
    strengths: Sequence[Sequence[float]] | None = None,
    depth: int | None = None,
) -> list[dict[str, Any]]:
    """The top ``k`` rows across ``rankings``, scored by the sum of 1 / (RRF_K + rank).

    ``strengths`` (one 0..1 value per row, e.g. score / best score of its list) break ties: when
    one list ranks a row first and another second, the list that was surer of its pick wins.
    With ``depth``, only the first ``depth`` ranks of each list vote for the order of the rows
    they hold; rows below it in every list follow (score 0), in the order of their full sums.
    Deep lists otherwise let rows that both searches rank 20th outscore one a search ranks first.
    """
    scores: dict[Any, float] = {}
    top_scores: dict[Any, float] = {}
    rows: dict[Any, dict[str, Any]] = {}
    for index, ranking in enumerate(rankings):
        for rank, row in enumerate(ranking, start=1):
            ident = row[key]
            bonus = TIE_BREAK_WEIGHT * strengths[index][rank - 1] if strengths else 0.0
            vote = 1.0 / (RRF_K + rank) + bonus
            scores[ident] = scores.get(ident, 0.0) + vote
            if depth is None or rank <= depth:
                top_scores[ident] = top_scores.get(ident, 0.0) + vote
            rows.setdefault(ident, row)
    best = sorted(scores, key=lambda ident: (top_scores.get(ident, 0.0), scores[ident]),
                  reverse=True)[:k]
    return [{**rows[ident], "_score": top_scores.get(ident, 0.0)} for ident in best]


def relative_strengths(values: Sequence[float], higher_is_better: bool = True) -> list[float]:
    """Each value as a fraction of the best one (distances are turned into similarities first)."""
    sims = [v if higher_is_better else 1.0 - v for v in values]
    top = max(sims, default=0.0)
    return [max(s, 0.0) / top if top > 0 else 0.0 for s in sims]
