"""Hybrid recommender: a weighted blend of normalised component scores with a cold-start cascade.

``score_u = Σ_c w_c · norm(score_c,u)``, where ``norm`` is per-user min-max scaling to [0, 1]
(``-inf`` — "cannot score", e.g. items outside EASE's model — becomes 0) or rank normalisation
``1 − rank/n``. Weights come from the config or are tuned on a validation split carved from the
**training** data only: for every user with at least ``min_user_events`` events, the latest
``validation_fraction`` of their events (``validation="temporal"``, the shop default) or a random
``validation_fraction`` of them (``"random"``, matching random-split benchmarks) are held out; components are fitted on the rest, and the
weights are chosen by coordinate ascent over ``grid`` (two passes, starting from equal weights)
maximising nDCG@10 of the held-out items on at most ``max_tune_users`` users. The components are
then refitted on the full training data.

Cascade: a user without any interaction (a new visitor) is scored by the popularity/trending
component alone; a session's items make a history row, so the fold-in components (item-kNN,
EASE, content, ALS) score it like any user — "trending + session-based content".
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError
from shopmind.recommend.base import (
    AlgorithmConfig,
    Recommender,
    Runtime,
    dense_row,
    interaction_matrix,
    top_k,
)
from shopmind.recommend.ensemble import Ensemble, EnsembleConfig
from shopmind.recommend.registry import register

log = logging.getLogger(__name__)

TUNE_POOL = 100
"""Per component, how many top unseen items per user enter the tuning candidate pool."""

TUNE_CHUNK_CELLS = 2_000_000
"""Users × items cells scored at once while tuning (16 MB of float64 per temporary)."""

FALLBACKS = ("trending", "popularity")
"""Components used, in this order, for users with no history at all."""


def _default_components() -> dict[str, dict[str, Any]]:
    return {"popularity": {}, "ease": {}, "item_knn": {}, "als": {}, "content": {}}


def holdout_split(
    dataset: Dataset, fraction: float, how: str, min_user_events: int, seed: int
) -> tuple[np.ndarray, Dataset, sp.csr_matrix]:
    """(inner training event mask, inner training dataset, held-out truth) — per user
    ``max(1, ⌊n_u·fraction⌋)`` events held out.

    ``how="random"``: a random sample of the user's events; ``"temporal"``: the latest ones. Users with
    fewer than ``min_user_events`` events hold nothing out; held-out items the user also has in the
    inner training part are dropped from the truth (only new items count).
    """
    key = np.random.default_rng(seed).random(dataset.n_events) if how == "random" else dataset.timestamp
    order = np.lexsort((np.arange(dataset.n_events), key, dataset.user_idx))
    users = dataset.user_idx[order]
    counts = np.bincount(users, minlength=dataset.n_users)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(order)) - start[users]
    n_u = counts[users]
    cut = n_u - np.maximum(1, np.floor(n_u * fraction))  # hold out >= 1
    held = (pos >= cut) & (n_u >= min_user_events)
    mask = np.ones(dataset.n_events, dtype=bool)
    mask[order[held]] = False
    inner = dataset.subset(mask)
    truth = sp.csr_matrix(
        (np.ones(int(held.sum())), (users[held], dataset.item_idx[order[held]])),
        shape=(dataset.n_users, dataset.n_items),
    )
    truth.data[:] = 1.0
    truth = sp.csr_matrix(truth - truth.multiply(inner.seen))  # only items new to the user count
    truth.eliminate_zeros()
    return mask, inner, truth


class HybridConfig(EnsembleConfig):
    components: dict[str, dict[str, Any]] = Field(default_factory=_default_components)
    weights: dict[str, float] | None = Field(
        default=None, description="fixed weights; None = tune on validation"
    )
    normalization: Literal["minmax", "rank"] = "minmax"
    validation: Literal["temporal", "random"] = Field(
        "temporal", description="hold out each user's latest events, or a random sample of them"
    )
    validation_fraction: float = Field(0.2, gt=0, lt=1)
    min_user_events: int = Field(3, ge=2)
    grid: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0)
    max_tune_users: int = Field(1000, ge=1)


def minmax_stats(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-row ``(lo, 1/span, finite mask or None)`` of min-max normalisation over finite entries.

    ``norm = (s − lo) · inv`` where ``inv = 1/(hi − lo)`` (0 for a constant row); the mask is None when
    every entry is finite (the common case: one ``min``/``max`` pass instead of masked copies).
    float32 scores are read as they are (their min/max are exact in float64; no converted copy).
    """
    s = _float_scores(scores)
    if s.ndim == 1:
        s = s[None, :]
    if s.shape[1] == 0:
        z = np.zeros((s.shape[0], 1))
        return z, z.copy(), None
    if s.shape[0] == 1:  # one user (serving): the same IEEE arithmetic on Python floats, fewer numpy calls
        lo1, hi1 = float(s.min()), float(s.max())
        if np.isfinite(lo1) and np.isfinite(hi1):
            span1 = hi1 - lo1
            return np.array([[lo1]]), np.array([[1.0 / span1 if span1 > 0 else 0.0]]), None
    lo = s.min(axis=1, keepdims=True).astype(np.float64)
    hi = s.max(axis=1, keepdims=True).astype(np.float64)
    finite: np.ndarray | None = None
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):  # -inf / nan present: mask them
        finite = np.isfinite(s)
        lo = np.where(finite, s, np.inf).min(axis=1, keepdims=True).astype(np.float64)
        hi = np.where(finite, s, -np.inf).max(axis=1, keepdims=True).astype(np.float64)
    span = hi - lo
    ok = np.isfinite(span) & (span > 0)
    inv = np.divide(1.0, span, out=np.zeros_like(span), where=ok)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    return lo, inv, finite


def _float_scores(scores: np.ndarray) -> np.ndarray:
    """Scores as float32 (kept: every float32 is exact in float64, and numpy computes ``raw − lo``
    with a float64 ``lo`` in float64) or else float64."""
    s = np.asarray(scores)
    return s if s.dtype == np.float32 else s.astype(np.float64, copy=False)


def normalise(scores: np.ndarray, how: str = "minmax") -> np.ndarray:
    """Per-row min-max to [0, 1] over finite entries (non-finite → 0), or ``1 − rank/n``."""
    s = np.array(scores, dtype=np.float64, copy=True, ndmin=2)
    if how == "rank":
        finite = np.isfinite(s)
        filled = np.where(finite, s, -np.inf)
        ranks = np.argsort(np.argsort(-filled, axis=1, kind="stable"), axis=1, kind="stable")
        out = 1.0 - ranks / max(s.shape[1], 1)
        return np.where(finite, out, 0.0)
    lo, inv, mask = minmax_stats(s)
    if mask is not None:
        s = np.where(mask, s, lo)
    s -= lo
    s *= inv
    return s


class Part:
    """One component's normalised scores, kept lazily as raw scores + per-row ``lo``/``inv``.

    Serving needs the normalised values only at the ``k`` returned items (to pick the dominant
    component for the reason), so the dense normalised row is never materialised there.
    """

    __slots__ = ("finite", "inv", "lo", "raw")

    def __init__(
        self, raw: np.ndarray, lo: np.ndarray, inv: np.ndarray, finite: np.ndarray | None = None
    ) -> None:
        self.raw, self.lo, self.inv, self.finite = raw, lo, inv, finite

    @classmethod
    def of(cls, scores: np.ndarray, how: str = "minmax") -> Part:
        raw = _float_scores(scores)
        if raw.ndim == 1:
            raw = raw[None, :]
        if how == "rank":
            n = raw.shape[0]
            return cls(normalise(raw, "rank"), np.zeros((n, 1)), np.ones((n, 1)))
        lo, inv, finite = minmax_stats(raw)
        return cls(raw, lo, inv, finite)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.raw.shape)

    def at(self, row: int, cols: np.ndarray) -> np.ndarray:
        """Normalised values of ``row`` at ``cols``."""
        cols = np.asarray(cols, dtype=np.int64)
        raw = self.raw[row, cols]
        if self.finite is not None:
            raw = np.where(self.finite[row, cols], raw, self.lo[row, 0])
        return np.asarray((raw - self.lo[row, 0]) * self.inv[row, 0], dtype=np.float64)

    def take(self, cols: np.ndarray) -> np.ndarray:
        """Normalised values at ``cols[r, j]`` of every row ``r`` (elementwise the same as :meth:`at`)."""
        cols = np.asarray(cols, dtype=np.int64)
        raw = np.take_along_axis(self.raw, cols, axis=1)
        if self.finite is not None:
            raw = np.where(np.take_along_axis(self.finite, cols, axis=1), raw, self.lo)
        return np.asarray((raw - self.lo) * self.inv, dtype=np.float64)

    def add_to(self, total: np.ndarray, weight: float) -> None:
        """``total += weight · norm`` in place (two passes over the scores, one temporary)."""
        # non-finite entries ("cannot score") are replaced by ``lo`` first, so they normalise to 0
        raw = self.raw if self.finite is None else np.where(self.finite, self.raw, self.lo)
        tmp = np.subtract(raw, self.lo)
        tmp *= weight * self.inv
        total += tmp

    def dense(self) -> np.ndarray:
        out = np.zeros(self.raw.shape)
        self.add_to(out, 1.0)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        d = self.dense()
        return d if dtype is None else d.astype(dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.dense()[key]


class SupportPart(Part):
    """One row's part scored on ``support`` (sorted item indices) only.

    Every other item "cannot be scored" and normalises to 0 — what ``-inf`` entries do in a
    :class:`Part` — without materialising the ``n_items``-wide row (EASE on a large catalogue scores
    only the items it models).
    """

    __slots__ = ("n_items", "support")

    def __init__(self, values: np.ndarray, support: np.ndarray, n_items: int) -> None:
        raw = _float_scores(values)[None, :]
        lo, inv, _ = minmax_stats(raw)  # finite values only (checked by the caller)
        super().__init__(raw, lo, inv)
        self.support, self.n_items = np.asarray(support, dtype=np.int64), int(n_items)

    @property
    def shape(self) -> tuple[int, ...]:
        return (1, self.n_items)

    def at(self, row: int, cols: np.ndarray) -> np.ndarray:
        cols = np.asarray(cols, dtype=np.int64)
        if not len(self.support):
            return np.zeros(cols.shape)
        pos = np.minimum(np.searchsorted(self.support, cols), len(self.support) - 1)
        raw = np.where(self.support[pos] == cols, self.raw[row, pos], self.lo[row, 0])
        return np.asarray((raw - self.lo[row, 0]) * self.inv[row, 0], dtype=np.float64)

    def take(self, cols: np.ndarray) -> np.ndarray:
        cols = np.atleast_2d(np.asarray(cols, dtype=np.int64))
        return np.vstack([self.at(0, c) for c in cols])

    def add_to(self, total: np.ndarray, weight: float) -> None:
        tmp = np.subtract(self.raw, self.lo)
        tmp *= weight * self.inv
        total[:, self.support] += tmp  # items outside the support add 0, as in Part.add_to

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape)
        self.add_to(out, 1.0)
        return out


@register
class Hybrid(Ensemble):
    """Blend + cascade of other recommenders (see module docstring)."""

    name = "hybrid"
    Config = HybridConfig
    config: HybridConfig
    supports_fold_in = True
    supports_similar = True

    def __init__(
        self, config: AlgorithmConfig | dict[str, Any] | None = None, runtime: Runtime | None = None
    ) -> None:
        super().__init__(config, runtime)
        self.weights: dict[str, float] = {}
        self._fixed: dict[str, tuple[Part, np.ndarray]] = {}

    def _fit(self, dataset: Dataset) -> None:
        names = list(self.config.components)
        if self.config.weights is not None:
            unknown = set(self.config.weights) - set(names)
            if unknown:
                raise ConfigError("weights for unknown components", value=sorted(unknown))
            self.weights = {n: float(self.config.weights.get(n, 0.0)) for n in names}
        elif len(names) == 1:
            self.weights = {names[0]: 1.0}
        else:
            self.weights = self.tune(dataset)
        self._fixed = {}
        self.models = self.fit_components(dataset, names)
        log.info("hybrid weights: %s", self.weights)

    # ---------------------------------------------------------------- tuning
    def validation_split(self, dataset: Dataset) -> tuple[np.ndarray, sp.csr_matrix]:
        """Event mask of the inner training part and the held-out (user, item) truth matrix."""
        train_mask, _inner, truth = self._split(dataset)
        return train_mask, truth

    def _split(self, dataset: Dataset) -> tuple[np.ndarray, Dataset, sp.csr_matrix]:
        """(inner training mask, inner training dataset, held-out truth) — the subset is built once."""
        cfg = self.config
        return holdout_split(
            dataset, cfg.validation_fraction, cfg.validation, cfg.min_user_events, self.runtime.seed
        )

    def tune(self, dataset: Dataset) -> dict[str, float]:
        """Coordinate ascent over ``grid`` on the inner validation split (module docstring)."""
        names = list(self.config.components)
        _mask, inner, truth = self._split(dataset)
        users = np.flatnonzero(np.diff(truth.indptr) > 0)
        if len(users) == 0:
            log.warning("hybrid: no validation users; using equal weights")
            return dict.fromkeys(names, 1.0)
        rng = np.random.default_rng(self.runtime.seed)
        if len(users) > self.config.max_tune_users:
            users = np.sort(rng.choice(users, self.config.max_tune_users, replace=False))
        seen_rows = inner.seen[users]
        seen = seen_rows.toarray() > 0
        # Blends are evaluated on each user's candidate pool only — the union of every component's
        # top ``TUNE_POOL`` unseen items — so the grid search costs O(users · pool), not O(users · items).
        # Scores are produced in user chunks (bounded float64 temporaries instead of several
        # users × items copies); each row is normalised and partitioned exactly as in one pass.
        chunk = max(1, TUNE_CHUNK_CELLS // max(dataset.n_items, 1))
        m = min(TUNE_POOL, dataset.n_items)
        normed: dict[str, np.ndarray] = {}
        pools = []
        for n in names:
            started = time.perf_counter()
            model = self.make_component(n).fit(inner)
            log.info("hybrid tuning: fitted %s on the inner split in %.1fs", n, time.perf_counter() - started)
            started = time.perf_counter()
            out = np.empty((len(users), dataset.n_items), dtype=np.float32)
            pool_n = np.empty((len(users), m), dtype=np.int64)
            for lo in range(0, len(users), chunk):
                hi = min(lo + chunk, len(users))
                scores = normalise(model.score_users(users[lo:hi]), self.config.normalization)
                r, c = seen_rows[lo:hi].nonzero()
                scores[r, c] = -1.0
                out[lo:hi] = scores
                pool_n[lo:hi] = np.argpartition(-scores, m - 1, axis=1)[:, :m]
            normed[n] = out
            pools.append(pool_n)
            log.info("hybrid tuning: scored %s in %.1fs", n, time.perf_counter() - started)
        pool = np.sort(np.hstack(pools), axis=1)
        dup = np.zeros(pool.shape, dtype=bool)
        dup[:, 1:] = pool[:, 1:] == pool[:, :-1]
        invalid = dup | np.take_along_axis(seen, pool, axis=1)
        parts = {n: np.take_along_axis(normed[n], pool, axis=1) for n in names}
        t = truth[users]

        def ndcg(w: dict[str, float]) -> float:
            total = np.zeros(pool.shape, dtype=np.float32)
            for n in names:
                if w[n]:
                    total += np.float32(w[n]) * parts[n]
            total[invalid] = -np.inf
            pos, _ = top_k(total, 10)
            return mean_ndcg(np.take_along_axis(pool, np.maximum(pos, 0), axis=1), t)

        weights = dict.fromkeys(names, 1.0)
        best = ndcg(weights)
        for _ in range(2):
            for n in names:
                for g in self.config.grid:
                    trial = {**weights, n: g}
                    if not any(trial.values()):
                        continue
                    score = ndcg(trial)
                    if score > best + 1e-12:
                        best, weights = score, trial
        log.info("hybrid tuned on %d validation users: nDCG@10 %.4f with %s", len(users), best, weights)
        self.validation_ndcg = best
        return weights

    # ---------------------------------------------------------------- scoring
    def component_scores(
        self, user_idx: np.ndarray | None = None, rows: sp.csr_matrix | None = None
    ) -> dict[str, Part]:
        """Normalised scores (lazy :class:`Part`) of every weighted component (blend, explanations)."""
        self.check_fitted()
        out = {}
        for n, model in self.models.items():
            if not self.weights.get(n):
                continue
            if rows is not None:
                if not model.supports_fold_in:
                    continue
                s = model.score_history(rows)
            else:
                s = model.score_users(np.asarray(user_idx))
            out[n] = Part.of(s, self.config.normalization)
        return out

    def _blend(self, parts: dict[str, Part], n_rows: int) -> np.ndarray:
        total = np.zeros((n_rows, self.n_items))
        for n, part in parts.items():
            part.add_to(total, self.weights[n])
        return total

    def _cascade(self, total: np.ndarray, history_sizes: np.ndarray) -> np.ndarray:
        """Rows without history: the popularity/trending component alone."""
        cold = history_sizes == 0
        if not cold.any():
            return total
        for n in FALLBACKS:
            if n in self.models:
                total[cold] = normalise(self.models[n].score_history(sp.csr_matrix((1, self.n_items))))[0]
                break
        return total

    def score_parts(
        self, user_idx: np.ndarray | None = None, rows: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, dict[str, Part]]:
        """Blended scores and the normalised component scores behind them (for explanations)."""
        if rows is not None:
            rows = self.check_rows(rows)
            parts = self.component_scores(rows=rows)
            return self._cascade(self._blend(parts, rows.shape[0]), np.diff(rows.indptr)), parts
        users = self.check_users(np.asarray(user_idx))
        parts = self.component_scores(users)
        return self._cascade(self._blend(parts, len(users)), self.history_sizes(users)), parts

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        return self.score_parts(user_idx=user_idx)[0]

    def score_row_parts(self, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, dict[str, Part]]:
        """:meth:`score_parts` of one user given by history arrays — the fold-in / session serving path.

        ``items`` sorted distinct item indices, ``weights`` their float32 weights. Components score
        through ``score_row`` (no scipy round trips; EASE on its modelled items only), and the
        user-independent ones (``FALLBACKS``) reuse a part and contribution computed once. The blend
        adds the same numbers in the same component order as :meth:`score_parts` on the one-row
        matrix, so ``total`` and every part are equal to it exactly (``tests/recommend/test_foldin.py``).
        """
        self.check_fitted()
        items = np.asarray(items, dtype=np.int64)
        if not len(items):  # no history: the cascade
            return self.score_parts(rows=sp.csr_matrix((1, self.n_items), dtype=np.float32))
        total = np.zeros((1, self.n_items))
        parts: dict[str, Part] = {}
        for n, model in self.models.items():
            w = self.weights.get(n)
            if not w or not model.supports_fold_in:
                continue
            if n in FALLBACKS:
                part, contribution = self._fixed_part(n)
                total += contribution
            else:
                part = self._row_part(model, items, weights)
                part.add_to(total, w)
            parts[n] = part
        return total, parts

    def score_row(self, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self.score_row_parts(items, weights)[0][0], None

    def _row_part(self, model: Recommender, items: np.ndarray, weights: np.ndarray) -> Part:
        values, support = model.score_row(items, weights)
        how = self.config.normalization
        if support is None:
            return Part.of(values, how)
        if how == "minmax" and np.isfinite(values).all():
            return SupportPart(values, support, self.n_items)
        return Part.of(dense_row(values, support, self.n_items), how)

    def _fixed_part(self, name: str) -> tuple[Part, np.ndarray]:
        """A user-independent component's part and weighted contribution, computed on first use."""
        cached = self._fixed.get(name)
        if cached is None:
            empty = sp.csr_matrix((1, self.n_items), dtype=np.float32)
            part = Part.of(self.models[name].score_history(empty), self.config.normalization)
            contribution = np.zeros((1, self.n_items))
            part.add_to(contribution, self.weights[name])
            cached = self._fixed[name] = (part, contribution)
        return cached

    def history_sizes(self, users: np.ndarray) -> np.ndarray:
        for model in self.models.values():
            x = getattr(model, "interactions", None)
            if isinstance(x, sp.csr_matrix):
                return np.diff(x.indptr)[users]
        return np.ones(len(users), dtype=np.int64)

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        return self.score_parts(rows=rows)[0]

    def similar_scores(self, item_idx: np.ndarray) -> np.ndarray:
        items = self.check_items(item_idx)
        total = np.zeros((len(items), self.n_items))
        for n, model in self.models.items():
            if model.supports_similar and self.weights.get(n):
                total += self.weights[n] * normalise(model.similar_scores(items), self.config.normalization)
        total[np.arange(len(items)), items] = 0.0
        return total

    # ---------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        super().save(directory)
        (directory / "weights.json").write_text(json.dumps(self.weights, indent=2))

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        super()._restore(arrays, directory)
        self.weights = {k: float(v) for k, v in json.loads((directory / "weights.json").read_text()).items()}
        self._fixed = {}


def mean_ndcg(idx: np.ndarray, truth: sp.csr_matrix, k: int = 10) -> float:
    """Mean binary nDCG@k of ranked item indices against a truth matrix (one row per ranking).

    ``DCG = Σ_r hit_r / log2(r + 1)``, ``IDCG`` = the same for ``min(|truth_u|, k)`` hits; rows without
    truth count 0. Hits are found for all rows at once by binary search of ``row · n_items + item``
    codes in the truth's sorted codes.
    """
    idx = np.asarray(idx)[:, :k]
    truth = sp.csr_matrix(truth, copy=True)
    truth.sum_duplicates()
    n_rows, width = idx.shape
    n_cols = max(int(truth.shape[1]), 1)
    t_rows = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr))
    t_codes = np.sort(t_rows * n_cols + truth.indices.astype(np.int64))
    codes = np.arange(n_rows, dtype=np.int64)[:, None] * n_cols + idx.astype(np.int64)
    if len(t_codes):
        pos = np.minimum(np.searchsorted(t_codes, codes), len(t_codes) - 1)
        hits = ((t_codes[pos] == codes) & (idx >= 0)).astype(np.float64)
    else:
        hits = np.zeros(idx.shape)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * disc[:width]).sum(axis=1)
    n_rel = np.minimum(np.diff(truth.indptr), k)
    idcg = np.cumsum(disc)[np.maximum(n_rel - 1, 0)] * (n_rel > 0)
    return float(np.mean(np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)))


__all__ = [
    "Hybrid",
    "HybridConfig",
    "Part",
    "SupportPart",
    "interaction_matrix",
    "mean_ndcg",
    "minmax_stats",
    "normalise",
]
