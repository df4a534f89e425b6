"""Sequence co-occurrence item-kNN: items that users interact with close together in time order.

Item-kNN over *sequence neighbourhoods* rather than whole histories — the windowed co-occurrence behind
the association/sequential-rule baselines of session-based recommendation (Ludewig & Jannach, "Evaluation
of session-based recommendation algorithms", UMUAI 2018). With each user's events in time order
``s_1 … s_n``, two items gain weight every time they are ``d ≤ window`` positions apart::

    C_ab = Σ_users Σ_{p, d: 1 ≤ d ≤ window, {s_p, s_{p+d}} = {a, b}} decay^(d − 1)
    S_ab = C_ab / (n_a^α · n_b^α)          (n_a = events on item a; α = 0.5 is cosine-like)
    score_ui = Σ_{j ∈ I_u} S_ji            (fold-in: the user's updated row times S)

Why it helps next to EASE/ALS, which see only *which* items a user has: users browse (and rate) in
sessions shaped by what the shop shows together — pages, lists, campaigns. Items adjacent in many users'
sequences belong to the same "page"; an item a user skipped next to items they did touch is a strong
candidate. No library we use offers windowed co-occurrence (implicit's and SAR's item similarities are
over whole histories), hence this small sparse implementation; each item keeps its ``k`` strongest
neighbours so memory is ``O(items · k)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.recommend.base import AlgorithmConfig, Recommender, load_sparse, save_sparse
from shopmind.recommend.registry import register
from shopmind.recommend.seq_rules import windowed_pairs


class SeqCoocConfig(AlgorithmConfig):
    window: int = Field(10, ge=1, description="items at most this many positions apart co-occur")
    decay: float = Field(0.9, gt=0, le=1, description="weight decay^(d−1) of a pair d positions apart")
    alpha: float = Field(0.5, ge=0, le=1, description="popularity normalisation exponent α")
    k: int = Field(400, ge=1, description="neighbours kept per item")


@register
class SeqCooc(Recommender):
    """Windowed sequence co-occurrence item-kNN (see module docstring)."""

    name = "seq_cooc"
    Config = SeqCoocConfig
    config: SeqCoocConfig
    supports_fold_in = True
    supports_similar = True

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        n = dataset.n_items
        counts = window_cooccurrence(dataset, cfg.window, cfg.decay)
        pop = np.bincount(dataset.item_idx, minlength=n).astype(np.float64)
        scale = np.power(np.maximum(pop, 1.0), -cfg.alpha)
        sim = sp.csr_matrix(sp.diags(scale) @ counts @ sp.diags(scale))
        self.similarity_matrix = _keep_top_k(sim, cfg.k)
        self.interactions = dataset.seen

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        return self._score(self.interactions[self.check_users(user_idx)])

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        self.check_fitted()
        rows = self.check_rows(rows).copy()
        rows.data[:] = 1.0
        return self._score(rows)

    def _score(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.asarray((rows @ self.similarity_matrix).toarray(), dtype=np.float64)

    def similar_scores(self, item_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        return self.similarity_matrix[self.check_items(item_idx)].toarray().astype(np.float64)

    def similarity_block(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        self.check_fitted()
        block = self.similarity_matrix[np.asarray(sources, dtype=np.int64)][
            :, np.asarray(targets, dtype=np.int64)
        ]
        return block.toarray().astype(np.float64)

    def _state(self) -> dict[str, np.ndarray]:
        return {**save_sparse("sim", self.similarity_matrix), **save_sparse("x", self.interactions)}

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.similarity_matrix = load_sparse("sim", arrays)
        self.interactions = load_sparse("x", arrays)


def window_cooccurrence(dataset: Dataset, window: int, decay: float) -> sp.csr_matrix:
    """Symmetric ``C_ab = Σ_users Σ_{pairs d ≤ window positions apart} decay^(d−1)`` (zero diagonal).

    Each user's events in time order (ties by file order); one vectorised pass per offset ``d``.
    """
    order = np.lexsort((np.arange(dataset.n_events), dataset.timestamp, dataset.user_idx))
    users, items = dataset.user_idx[order], dataset.item_idx[order].astype(np.int64)
    counts = windowed_pairs(users, items, dataset.n_items, window, lambda d: decay ** (d - 1))
    counts = sp.csr_matrix(counts - sp.diags(counts.diagonal()))  # an item next to itself is no pair
    counts.eliminate_zeros()
    return sp.csr_matrix(counts + counts.T)


def _keep_top_k(sim: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each **column** (a target item's strongest neighbours).

    Column-wise, so every item keeps ``k`` sources that can raise its score (``score = x · S``).
    Vectorised over the CSC arrays: sort by (column, −value), keep ranks < k.
    """
    csc = sp.csc_matrix(sim)
    csc.eliminate_zeros()
    col = np.repeat(np.arange(csc.shape[1]), np.diff(csc.indptr))
    order = np.lexsort((-csc.data, col))
    rank = np.arange(len(order)) - csc.indptr[col[order]]
    keep = order[rank < k]
    out = sp.csr_matrix((csc.data[keep], (csc.indices[keep], col[keep])), shape=csc.shape, dtype=np.float32)
    out.sort_indices()
    return out


__all__ = ["SeqCooc", "SeqCoocConfig", "window_cooccurrence"]
