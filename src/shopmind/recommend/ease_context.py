"""Context EASE: the sequence-aware EASE with user weights and activity periods as extra input columns.

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

Fold-in (``score_history``/``score_row``) sees only an item row without timestamps, so it uses the
item block ``B[items, items]`` (the context terms are 0 — a new user's periods are not known).

On ml-100k (MS protocol) the inner nDCG@10 rises from 0.2753 (sequence-aware EASE) to 0.2780, and the
outer seed-42 nDCG@10 from 0.4845 to 0.4890 (``docs/bench/recommend.md``). Hand-written because no
library fits EASE with weighted rows or side columns; it reuses the library EASE's Gram and solver.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.recommend.base import load_sparse, register, save_sparse
from shopmind.recommend.ease import EASE, EASEConfig

DAY = 86_400
UNAVAILABLE = 1e6
"""Subtracted from the scores of items not yet available to the user (ranks them after all others)."""


class ContextEASEConfig(EASEConfig):
    # Defaults: best mean inner nDCG@10 (0.2780) on ml-100k inner splits 7 and 8 of the seed-42 training
    # set over λ {500, 700, 1000} × γ {1, 2} × period weight {0, 1} × β {0, 0.5} (30-day periods, mask
    # on; a first grid had picked 30-day periods over 14 and the mask over none), and still the best of
    # the 16 configurations re-scored on fresh inner splits 9 and 10 (0.2766 vs 0.2745 for λ 1000 / γ 2
    # without periods or β): bench/results/tune_ml100k_context*.json.
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


@register
class ContextEASE(EASE):
    """Sequence-aware EASE with activity-period input columns (see module docstring)."""

    name = "ease_context"
    Config = ContextEASEConfig  # type: ignore[assignment]  # mypy reads EASE.Config as an alias
    config: ContextEASEConfig

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
        out = self._full(self.interactions[users])
        if len(self.active):
            ctx = self.periods[users].astype(np.float32) * np.float32(self.config.activity_weight)
            out[:, self.active] += np.asarray(ctx @ self.context_weights, dtype=np.float64)
        if self.config.availability_mask:
            late = self.item_first[None, :] > self.user_last[users][:, None]
            out[late] -= UNAVAILABLE
        return out

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **super()._state(),
            "context_weights": self.context_weights,
            "item_first": self.item_first,
            "user_last": self.user_last,
            **save_sparse("periods", self.periods),
        }

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        super()._restore(arrays, directory)
        self.context_weights = np.ascontiguousarray(arrays["context_weights"])
        self.item_first = arrays["item_first"]
        self.user_last = arrays["user_last"]
        self.periods = load_sparse("periods", arrays)


__all__ = ["ContextEASE", "ContextEASEConfig"]
