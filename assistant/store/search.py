"""Reciprocal rank fusion: merge ranked lists from different searches into one ranking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RRF_K = 60  # the usual constant: damps the weight of the very first ranks


def rrf_fuse(
    rankings: Sequence[Sequence[dict[str, Any]]], key: str, k: int
) -> list[dict[str, Any]]:
    """The top ``k`` rows across ``rankings``, scored by the sum of 1 / (RRF_K + rank)."""
    scores: dict[Any, float] = {}
    rows: dict[Any, dict[str, Any]] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            ident = row[key]
            scores[ident] = scores.get(ident, 0.0) + 1.0 / (RRF_K + rank)
            rows.setdefault(ident, row)
    best = sorted(scores, key=lambda ident: scores[ident], reverse=True)[:k]
    return [{**rows[ident], "_score": scores[ident]} for ident in best]
