"""SAR — Smart Adaptive Recommendations, as in Microsoft Recommenders' ``SARSingleNode``.

* Co-occurrence ``C = Bᵀ B`` with ``B`` the binary user×item matrix of the training events;
  counts below ``threshold`` are zeroed.
* Item similarity from ``C``: Jaccard ``C_ij / (C_ii + C_jj − C_ij)`` (default), lift
  ``C_ij / (C_ii · C_jj)``, cosine ``C_ij / sqrt(C_ii · C_jj)``, or raw counts.
* User affinity ``A_ui = Σ_e w_e · 2^(−(t_now − t_e)/T)`` over ``u``'s events on ``i`` with
  half-life ``T`` days (30 by default) and ``t_now`` = the last training timestamp; ``w_e`` is the
  rating for rating events when ``use_ratings`` (MS's "rating as affinity weight"), else the
  event-type weight of the dataset (purchase > cart > view). ``time_decay_days=None`` disables decay.
* Scores ``A · S``; seen items are removed by the shared ``top_k``.

Configured as ``similarity="jaccard", time_decay_days=30, use_ratings=True, now="last"`` it is the
configuration of Microsoft Recommenders' SAR benchmark run. ``C`` and ``S`` are sparse,
so the memory is ``O(nnz(C))``, not ``O(n_items²)`` — but ``nnz(C)`` grows with ``Σ_u |I_u|²``: the
model refuses with :class:`~shopmind.errors.CapacityError` when that bound exceeds ``max_pairs``
(1M users × 100k items with 12 interactions per user on average: 3.0e8, which needed more than 8 GiB;
bench/bench_recommend_scale.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import EVENT_CODE, EVENT_TYPES, SECONDS_PER_DAY, Dataset
from shopmind.errors import CapacityError
from shopmind.recommend.base import AlgorithmConfig, Recommender, load_sparse, save_sparse
from shopmind.recommend.registry import register


class SARConfig(AlgorithmConfig):
    similarity: Literal["jaccard", "lift", "cosine", "counts"] = "jaccard"
    time_decay_days: float | None = Field(30.0, gt=0, description="half-life T; None = no decay")
    use_ratings: bool = Field(True, description="rating events weigh by their value (MS: rating column)")
    now: Literal["last"] | float = Field(
        "last", description="'last' = last training timestamp, or unix seconds"
    )
    threshold: int = Field(1, ge=1, description="co-occurrence counts below this are dropped")
    max_pairs: int = Field(
        150_000_000,
        ge=1,
        description="refuse when Σ_u |I_u|² (a bound on nnz(C); ≈ 30–60 bytes each while fitting) exceeds this",
    )


@register
class SAR(Recommender):
    """Microsoft's SAR (see module docstring)."""

    name = "sar"
    Config = SARConfig
    config: SARConfig
    supports_fold_in = True
    supports_similar = True

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        b = dataset.seen.astype(np.float64).tocsr()
        pairs = int((np.diff(b.indptr).astype(np.int64) ** 2).sum())
        if pairs > cfg.max_pairs:
            raise CapacityError(
                f"SAR's item co-occurrence needs up to {pairs:.2e} user-item-item products "
                f"(≈ {pairs * 30 / 2**30:.0f}–{pairs * 60 / 2**30:.0f} GiB while fitting)",
                value=pairs,
                expected=f"at most max_pairs={cfg.max_pairs:.2e}; use item_knn (top-k pruned) or als "
                "at this scale",
            )
        c = (b.T @ b).tocsr()
        if cfg.threshold > 1:
            c.data[c.data < cfg.threshold] = 0.0
            c.eliminate_zeros()
        self.cooccurrence = c
        self.similarity_matrix = similarity_from_cooccurrence(c, cfg.similarity)
        self.affinity = self.affinities(dataset)

    def affinities(self, dataset: Dataset) -> sp.csr_matrix:
        """``A_ui`` in float64 (module docstring); duplicates of (u, i) are summed like MS's groupby."""
        cfg = self.config
        table = np.array([dataset.weights.weights.get(t, 0.0) for t in EVENT_TYPES], dtype=np.float64)
        w = table[dataset.event_type]
        if cfg.use_ratings:
            rating = dataset.event_type == EVENT_CODE["rating"]
            w = np.where(rating, dataset.value.astype(np.float64), w)
        else:
            w = np.where(dataset.event_type == EVENT_CODE["rating"], 1.0, w)
        if cfg.time_decay_days is not None and dataset.n_events:
            now = float(dataset.last_timestamp if cfg.now == "last" else cfg.now)
            self.now_ts = now
            age = (now - dataset.timestamp.astype(np.float64)) / (cfg.time_decay_days * SECONDS_PER_DAY)
            w = w * np.power(2.0, -age)
        a = sp.csr_matrix((w, (dataset.user_idx, dataset.item_idx)), shape=(dataset.n_users, dataset.n_items))
        a.sum_duplicates()
        return a

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        users = self.check_users(user_idx)
        return np.asarray((self.affinity[users] @ self.similarity_matrix).toarray())

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        self.check_fitted()
        return np.asarray((self.check_rows(rows).astype(np.float64) @ self.similarity_matrix).toarray())

    def similar_scores(self, item_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        items = self.check_items(item_idx)
        sim = np.asarray(self.similarity_matrix[items].toarray())
        sim[np.arange(len(items)), items] = 0.0  # an item is not similar to itself for "similar items"
        return sim

    def similarity_block(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        self.check_fitted()
        return np.asarray(self.similarity_matrix[np.asarray(sources)][:, np.asarray(targets)].toarray())

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **save_sparse("similarity", self.similarity_matrix),
            **save_sparse("cooccurrence", self.cooccurrence),
            **save_sparse("affinity", self.affinity),
        }

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.similarity_matrix = load_sparse("similarity", arrays)
        self.cooccurrence = load_sparse("cooccurrence", arrays)
        self.affinity = load_sparse("affinity", arrays)


def similarity_from_cooccurrence(c: sp.csr_matrix, kind: str) -> sp.csr_matrix:
    """Item similarity on the non-zeros of the co-occurrence matrix ``C`` (MS SAR's formulas)."""
    c = sp.coo_matrix(c, dtype=np.float64)
    diag = c.diagonal() if c.shape[0] else np.zeros(0)
    ci, cj = diag[c.row], diag[c.col]
    if kind == "jaccard":
        data = c.data / (ci + cj - c.data)
    elif kind == "lift":
        data = c.data / (ci * cj)
    elif kind == "cosine":
        data = c.data / np.sqrt(ci * cj)
    else:
        data = c.data.copy()
    return sp.csr_matrix((data, (c.row, c.col)), shape=c.shape)
