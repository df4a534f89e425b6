"""Rank fusion of keyword and semantic result lists.

* **Reciprocal-rank fusion** (Cormack, Clarke & Büttcher, SIGIR 2009):
  ``RRF(d) = Σ_lists w_l / (k + rank_l(d))`` with ``k = 60`` and 1-based ranks; a document missing
  from a list contributes nothing from it. Needs no score calibration.
* **Weighted score fusion** (convex combination, "CombSUM" on normalised scores):
  ``S(d) = α · norm(bm25(d)) + (1 − α) · norm(cos(d))`` with min–max normalisation over each list's
  candidates (missing = 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def rrf(
    rankings: Sequence[np.ndarray], *, k: float = 60.0, weights: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse row-id rankings (best first); returns ``(rows, scores)`` best first."""
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for r, row in enumerate(np.asarray(ranking).tolist(), 1):
            scores[row] = scores.get(row, 0.0) + w / (k + r)
    if not scores:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    rows = np.fromiter(scores, dtype=np.int64, count=len(scores))
    vals = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    order = np.lexsort((rows, -vals))
    return rows[order], vals[order]


def minmax(x: np.ndarray) -> np.ndarray:
    """Min–max normalise to [0, 1]; a constant vector maps to 1 (all equally good)."""
    x = np.asarray(x, dtype=np.float64)
    if not len(x):
        return x
    lo, hi = float(x.min()), float(x.max())
    return np.ones_like(x) if hi - lo < 1e-12 else (x - lo) / (hi - lo)


def weighted(
    lex_rows: np.ndarray,
    lex_scores: np.ndarray,
    sem_rows: np.ndarray,
    sem_scores: np.ndarray,
    *,
    alpha: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Convex combination of min–max normalised scores; returns ``(rows, scores)`` best first."""
    fused: dict[int, float] = {}
    for row, s in zip(np.asarray(lex_rows).tolist(), minmax(lex_scores).tolist(), strict=True):
        fused[row] = fused.get(row, 0.0) + alpha * s
    for row, s in zip(np.asarray(sem_rows).tolist(), minmax(sem_scores).tolist(), strict=True):
        fused[row] = fused.get(row, 0.0) + (1 - alpha) * s
    if not fused:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    rows = np.fromiter(fused, dtype=np.int64, count=len(fused))
    vals = np.fromiter(fused.values(), dtype=np.float64, count=len(fused))
    order = np.lexsort((rows, -vals))
    return rows[order], vals[order]
