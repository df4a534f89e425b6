"""Context EASE: the sequence-aware EASE with user weights, activity periods and a spectral low-pass term.

EASE (:mod:`shopmind.recommend.ease`) is fitted on ``A = [X | w·T]``, where ``T`` (users × periods) is 1
where the user has an event in calendar period ``p`` (periods of ``activity_bin_days`` days from the
first training event), with each user's rows weighted ``W_u = (n_u / mean n)^(−β)`` (``n_u`` = the
user's events; heavy raters otherwise dominate the co-occurrence counts). The periods are inputs only:
the item block of the Gram matrix keeps the sequence term ``γ·C_w``, and only item columns are scored::

    G = AᵀWA + [[γ·C_w, 0], [0, 0]] + λI,   B = I − G⁻¹·diag(1/diag G⁻¹),   diag(B) = 0
    score_u = X_u · B[items, items] + w·T_u · B[periods, items]

so an item gains from being rated in the periods the user was active (a catalogue changes over time:
films released in spring 1998 cannot be in the history of a user active only in autumn 1997). With
``availability_mask`` an item whose first training event is later than the user's last one is ranked
below every other candidate (it was not available while the user was active). ``w = 0``, ``β = 0`` and
no mask give :class:`~shopmind.recommend.ease.EASE` exactly.

**Low-pass term** (``low_pass_rank`` k > 0): the ideal low-pass graph filter of GF-CF (Shen et al.,
"How Powerful is Graph Convolution for Recommendation?", CIKM 2021), built on the model's own item
graph — the item block of ``G`` without λ, ``H = XᵀWX + γ·C_w``, normalised by its row sums
``d = H·1`` — and fused with the EASE scores by per-user z-scores over the user's unseen items::

    H̃ = D^(−1/2)·H·D^(−1/2),   V = top-k eigenvectors of H̃,   L_u = X_u·D^(−1/2)·V·Vᵀ·D^(a)
    score_u = z(EASE_u) + ω·z(L_u)

(GF-CF's filter has ``a = 1/2`` and is built on ``RᵀR`` with user-degree normalisation). EASE's λ
shrinks every direction of the item space alike; the rank-k projection keeps only the dominant
co-rating/session structure, which EASE under-weights on small data (with 943 users) — a heavily
regularised second EASE in its place does not help. The availability mask is applied after fusion.

Fold-in (``score_history``/``score_row``) sees only an item row without timestamps, so it uses the
item block ``B[items, items]`` (the context and low-pass terms are left out — a new user's periods are
not known, and the z-score fusion would break ``score_row``'s sparse fast path).

Hand-written because no library fits EASE with weighted rows or side
columns; it reuses the library EASE's Gram and solver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.recommend.base import load_sparse, save_sparse, zscore_unseen
from shopmind.recommend.ease import EASE, EASEConfig, _blas_threads
from shopmind.recommend.registry import register

DAY = 86_400
UNAVAILABLE = 1e6
"""Subtracted from the scores of items not yet available to the user (ranks them after all others)."""


class ContextEASEConfig(EASEConfig):
    """Defaults are each part's standard setting, not tuned on a benchmark (tuned configurations are
    presets, :mod:`shopmind.presets`): λ = 500 as in Steck's EASE reference code; unit weights for the
    sequence co-occurrence and the period columns (γ = w = 1: a co-occurrence or an active period counts
    like a co-rated item); calendar months; β = 1/2, the inverse-square-root degree normalisation of
    GF-CF and LightGCN; and GF-CF's ideal low-pass filter — k = 256 eigenvectors, output exponent
    a = 1/2, weight ω = 0.3 (Shen et al. 2021, their reference code)."""

    l2: float = Field(500.0, gt=0, description="λ on the diagonal of the Gram matrix")
    sequence_weight: float = Field(1.0, ge=0, description="γ: weight of the windowed sequence co-occurrence")
    activity_bin_days: float = Field(30.0, gt=0, description="width of a user activity period in days")
    activity_weight: float = Field(1.0, ge=0, description="w: value of an activity-period column")
    user_weight_exponent: float = Field(
        0.5, ge=0, description="β: user u's rows count (n_u / mean n)^(−β) in the Gram matrix (0 = EASE)"
    )
    availability_mask: bool = Field(
        True, description="rank items first seen after the user's last event below all other items"
    )
    low_pass_rank: int = Field(
        256, ge=0, description="k: eigenvectors of the normalised item graph in the low-pass term (0 = off)"
    )
    low_pass_weight: float = Field(0.3, ge=0, description="ω: weight of the low-pass z-scores")
    low_pass_exponent: float = Field(0.5, ge=0, description="a: output degree exponent D^(a)")


@register
class ContextEASE(EASE):
    """Sequence-aware EASE with activity-period input columns (see module docstring)."""

    name = "ease_context"
    Config = ContextEASEConfig  # type: ignore[assignment]  # mypy reads EASE.Config as an alias
    config: ContextEASEConfig

    @classmethod
    def shop_config(cls, dataset: Dataset) -> dict[str, Any]:
        """None: EASE's shop settings (float32, top items) were checked on plain EASE only, so
        ContextEASE keeps its library defaults in the shop."""
        return {}

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        n_events = np.bincount(dataset.user_idx, minlength=dataset.n_users).astype(np.float64)
        active_users = n_events > 0
        w = np.ones(dataset.n_users)
        if active_users.any():
            # W_u = (n_u / mean n)^(−β): heavy raters no longer dominate the co-occurrence counts
            w[active_users] = (
                n_events[active_users] / n_events[active_users].mean()
            ) ** -cfg.user_weight_exponent
        x, active, g_items = self._item_gram(dataset, row_weights=w)
        periods = self._periods(dataset)
        m, k = len(active), periods.shape[1]
        xa = x[:, active].astype(np.float64)
        t = periods.astype(np.float64) * cfg.activity_weight
        tw = sp.csr_matrix(sp.diags(w) @ t)
        g = np.empty((m + k, m + k))
        g[:m, :m] = g_items
        g[:m, m:] = np.asarray((xa.T @ tw).todense())
        g[m:, :m] = g[:m, m:].T
        g[m:, m:] = np.asarray((t.T @ tw).todense())
        g[np.arange(m, m + k), np.arange(m, m + k)] += cfg.l2
        g_items[np.diag_indices(m)] -= cfg.l2  # the item graph H (λ taken off again; g keeps its copy)
        self.low_pass_in, self.low_pass_out = self._low_pass(g_items)
        b = self._solve(g)
        self.weights = np.ascontiguousarray(b[:m, :m])
        self.context_weights = np.ascontiguousarray(b[m:, :m])
        self.active = active
        self.interactions = x
        self.periods = periods
        ts = dataset.timestamp.astype(np.int64)
        self.item_first = np.full(dataset.n_items, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(self.item_first, dataset.item_idx, ts)
        self.user_last = np.full(dataset.n_users, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(self.user_last, dataset.user_idx, ts)
        self._pos_map = None

    def _low_pass(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(D^(−1/2)·V, Vᵀ·D^(a))`` for the item graph ``h`` (see the module docstring); k = 0: empty.

        ``h`` is normalised in place (it is a scratch copy: no second m × m array at 20k items).
        """
        m = len(h)
        k = min(self.config.low_pass_rank, m)
        if k == 0:
            return np.zeros((m, 0)), np.zeros((0, m))
        d = h.sum(axis=1)
        d[d <= 0] = 1.0  # an item's diagonal count is > 0; guards a zero-weight row
        s = 1.0 / np.sqrt(d)
        with _blas_threads(self.runtime.threads):
            h *= s[:, None]
            h *= s[None, :]
            _, v = scipy.linalg.eigh(h, subset_by_index=[m - k, m - 1], overwrite_a=True)
        # float64: the scoring product ``(x·left)·right`` is a dense BLAS product whose float32
        # rounding differs by kernel and batch size; in float64 it stays far below FLAT_RTOL
        left = np.ascontiguousarray(v * s[:, None], dtype=np.float64)
        right = np.ascontiguousarray(v.T * d[None, :] ** self.config.low_pass_exponent, dtype=np.float64)
        return left, right

    def _periods(self, dataset: Dataset) -> sp.csr_matrix:
        """Binary users × periods matrix: 1 where the user has an event in the period."""
        ts = dataset.timestamp.astype(np.int64)
        width = int(self.config.activity_bin_days * DAY)
        period = (ts - ts.min()) // width if len(ts) else ts
        k = int(period.max()) + 1 if len(ts) else 0
        p = sp.csr_matrix(
            (np.ones(len(ts)), (dataset.user_idx, period)), shape=(dataset.n_users, k), dtype=np.float64
        )
        p.data[:] = 1.0  # sum_duplicates happened in the constructor: presence, not counts
        return p

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        users = self.check_users(user_idx)
        rows = self.interactions[users]
        out = self._full(rows)
        if len(self.active):
            ctx = self.periods[users].astype(np.float32) * np.float32(self.config.activity_weight)
            out[:, self.active] += np.asarray(ctx @ self.context_weights, dtype=np.float64)
            if self.low_pass_in.shape[1]:
                xa = rows[:, self.active].astype(np.float64)
                low = np.asarray((xa @ self.low_pass_in) @ self.low_pass_out)
                seen = xa.toarray() > 0
                fused = zscore_unseen(
                    out[:, self.active], seen
                ) + self.config.low_pass_weight * zscore_unseen(low, seen)
                out[:, self.active] = fused
        if self.config.availability_mask:
            late = self.item_first[None, :] > self.user_last[users][:, None]
            out[late] -= UNAVAILABLE
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **super()._state(),
            "context_weights": self.context_weights,
            "low_pass_in": self.low_pass_in,
            "low_pass_out": self.low_pass_out,
            "item_first": self.item_first,
            "user_last": self.user_last,
            **save_sparse("periods", self.periods),
        }

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        super()._restore(arrays, directory)
        self.context_weights = np.ascontiguousarray(arrays["context_weights"])
        m = len(self.active)  # models saved before the low-pass term: none
        self.low_pass_in = np.asarray(arrays.get("low_pass_in", np.zeros((m, 0))), dtype=np.float64)
        self.low_pass_out = np.asarray(arrays.get("low_pass_out", np.zeros((0, m))), dtype=np.float64)
        self.item_first = arrays["item_first"]
        self.user_last = arrays["user_last"]
        self.periods = load_sparse("periods", arrays)


__all__ = ["ContextEASE", "ContextEASEConfig"]
