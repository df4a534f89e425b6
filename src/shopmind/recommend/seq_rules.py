"""Sequential rules — "what follows what" item transitions (Ludewig & Jannach, *Evaluation of
session-based recommendation algorithms*, UMUAI 2018, the "SR" baseline).

Every training sequence ``s_1 … s_n`` contributes, for each pair of positions ``t < t'`` at most
``window`` apart, a rule ``s_t → s_t'`` with weight ``1 / (t' − t)^power``::

    R[i, j] = Σ_users Σ_{t' − t = d ≤ window, s_t = i, s_t' = j} d^(−power)

A sequence ``q_1 … q_m`` (oldest first) is scored from its recent items, recency-weighted with a
half-life of ``history_half_life`` items: ``score_j = Σ_a 0.5^(a / h) · R[q_{m−a}, j]``, ``a = 0`` for
the latest item. Unlike item-kNN's symmetric co-occurrence, the rules are directional and local in
time, which is what next-item data (Amazon reviews, sessions) rewards.

Written here because no maintained library implements it (session-rec is a research harness, not a
package); pair extraction and scoring are vectorised sparse operations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.recommend.base import AlgorithmConfig, Recommender, load_sparse, save_sparse
from shopmind.recommend.registry import register


class SequentialRulesConfig(AlgorithmConfig):
    """Defaults: the sequential rules of Ludewig & Jannach ("Evaluation of session-based recommendation
    algorithms", 2018) as in their session-rec framework — rules up to 10 steps apart, weighted 1/d
    ("div"). SR scores from the last item alone; the recency half-life of 1 item extends that to the
    earlier items with halving weights."""

    window: int = Field(10, ge=1, le=100, description="largest distance between the two items of a rule")
    power: float = Field(1.0, ge=0, description="rule weight 1/d^power for distance d")
    history_half_life: float = Field(1.0, gt=0, description="recency half-life of the scored sequence, items")
    max_history: int = Field(20, ge=1, le=1000, description="most recent items of a sequence that are used")
    event_types: tuple[str, ...] | None = Field(None, description="event types forming the sequences")


def windowed_pairs(
    owner: np.ndarray, items: np.ndarray, n_items: int, window: int, weight: Callable[[int], float]
) -> sp.csr_matrix:
    """Directed ``M[i, j] = Σ weight(d)`` over every ``j`` found ``d ≤ window`` positions after ``i``
    in the same sequence; ``items`` are the sequences concatenated, ``owner`` their sequence ids.

    One vectorised pass per offset ``d`` (no per-sequence loop); shared by the transition rules here
    and the symmetric co-occurrence of :mod:`shopmind.recommend.seq_cooc`.
    """
    rows, cols, vals = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
    for d in range(1, min(window, max(len(items) - 1, 0)) + 1):
        same = owner[:-d] == owner[d:]  # both ends in the same sequence
        rows.append(items[:-d][same])
        cols.append(items[d:][same])
        vals.append(np.full(int(same.sum()), float(weight(d))))
    m = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_items, n_items)
    )
    m.sum_duplicates()
    return m


def transition_rules(seqs: Sequence[np.ndarray], n_items: int, window: int, power: float) -> sp.csr_matrix:
    """``R[i, j]``: summed ``d^(−power)`` over occurrences of ``j`` ``d ≤ window`` positions after ``i``."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if lengths.sum() == 0:
        return sp.csr_matrix((n_items, n_items))
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs])
    owner = np.repeat(np.arange(len(seqs)), lengths)
    return windowed_pairs(owner, flat, n_items, window, lambda d: float(d) ** -power)


def recency_rows(
    seqs: Sequence[np.ndarray], n_items: int, half_life: float, max_history: int
) -> sp.csr_matrix:
    """One CSR row per sequence: weight ``0.5^(age / half_life)`` on each of its last ``max_history`` items
    (``age`` 0 = latest; repeated items add up)."""
    tails = [np.asarray(s, dtype=np.int64)[-max_history:] for s in seqs]
    lengths = np.array([len(t) for t in tails], dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return sp.csr_matrix((len(tails), n_items))
    ends = np.repeat(np.cumsum(lengths), lengths)
    age = ends - 1 - np.arange(total)
    rows = sp.csr_matrix(
        (np.power(0.5, age / half_life), (np.repeat(np.arange(len(tails)), lengths), np.concatenate(tails))),
        shape=(len(tails), n_items),
    )
    rows.sum_duplicates()
    return rows


@register
class SequentialRules(Recommender):
    """Directional, distance-weighted item transitions; see the module docstring."""

    name = "seq_rules"
    Config = SequentialRulesConfig
    config: SequentialRulesConfig
    # No score_history: a CSR row has no order, and order is all this model knows. Callers with a
    # sequence use score_sequences (the loo harness, SequentialHybrid).

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        seqs = dataset.sequences(cfg.event_types)
        self.rules = transition_rules(seqs, self.n_items, cfg.window, cfg.power)
        self._user_rows = recency_rows(seqs, self.n_items, cfg.history_half_life, cfg.max_history)

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Scores from each user's training sequence."""
        self.check_fitted()
        return np.asarray((self._user_rows[self.check_users(user_idx)] @ self.rules).toarray())

    def score_sequences(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """Next-item scores ``[len(sequences), n_items]`` for item-index sequences (oldest first)."""
        self.check_fitted()
        seqs = [self.check_items(np.asarray(s, dtype=np.int64)) for s in sequences]
        cfg = self.config
        rows = recency_rows(seqs, self.n_items, cfg.history_half_life, cfg.max_history)
        return np.asarray((rows @ self.rules).toarray())

    def _state(self) -> dict[str, np.ndarray]:
        return {**save_sparse("rules", self.rules), **save_sparse("user_rows", self._user_rows)}

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.rules = load_sparse("rules", arrays)
        self._user_rows = load_sparse("user_rows", arrays)
