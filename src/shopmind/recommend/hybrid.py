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
from shopmind.recommend.base import AlgorithmConfig, Recommender, Runtime, interaction_matrix, register, top_k

log = logging.getLogger(__name__)

TUNE_POOL = 100
"""Per component, how many top unseen items per user enter the tuning candidate pool."""

FALLBACKS = ("trending", "popularity")
"""Components used, in this order, for users with no history at all."""


def _default_components() -> dict[str, dict[str, Any]]:
    return {"popularity": {}, "ease": {}, "item_knn": {}, "als": {}, "content": {}}


class HybridConfig(AlgorithmConfig):
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


def normalise(scores: np.ndarray, how: str = "minmax") -> np.ndarray:
    """Per-row min-max to [0, 1] over finite entries (non-finite → 0), or ``1 − rank/n``."""
    s = np.array(scores, dtype=np.float64, copy=True, ndmin=2)
    finite = np.isfinite(s)
    if how == "rank":
        filled = np.where(finite, s, -np.inf)
        ranks = np.argsort(np.argsort(-filled, axis=1, kind="stable"), axis=1, kind="stable")
        out = 1.0 - ranks / max(s.shape[1], 1)
        return np.where(finite, out, 0.0)
    lo = np.where(finite, s, np.inf).min(axis=1, keepdims=True)
    hi = np.where(finite, s, -np.inf).max(axis=1, keepdims=True)
    span = hi - lo
    ok = np.isfinite(span) & (span > 0)
    out = np.divide(s - lo, span, out=np.zeros_like(s), where=finite & ok)
    return np.where(finite, out, 0.0)


@register
class Hybrid(Recommender):
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
        if "hybrid" in self.config.components:
            raise ConfigError("a hybrid cannot contain itself", value="hybrid")
        if not self.config.components:
            raise ConfigError("hybrid needs at least one component", value={})
        self.models: dict[str, Recommender] = {}
        self.weights: dict[str, float] = {}

    def _make(self, name: str) -> Recommender:
        from shopmind.recommend import make_algorithm

        return make_algorithm(name, self.config.components[name], self.runtime)

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
        self.models = {}
        for n in names:
            started = time.perf_counter()
            self.models[n] = self._make(n).fit(dataset)
            log.info("hybrid: fitted %s in %.1fs", n, time.perf_counter() - started)
        log.info("hybrid weights: %s", self.weights)

    # ---------------------------------------------------------------- tuning
    def validation_split(self, dataset: Dataset) -> tuple[np.ndarray, sp.csr_matrix]:
        """Event mask of the inner training part and the held-out (user, item) truth matrix."""
        key: np.ndarray = (
            np.random.default_rng(self.runtime.seed).random(dataset.n_events)
            if self.config.validation == "random"
            else dataset.timestamp
        )
        order = np.lexsort((np.arange(dataset.n_events), key, dataset.user_idx))
        users = dataset.user_idx[order]
        counts = np.bincount(users, minlength=dataset.n_users)
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(len(order)) - start[users]
        n_u = counts[users]
        cut = n_u - np.maximum(1, np.floor(n_u * self.config.validation_fraction))  # hold out >= 1
        held = (pos >= cut) & (n_u >= self.config.min_user_events)
        train_mask = np.ones(dataset.n_events, dtype=bool)
        train_mask[order[held]] = False
        inner = dataset.subset(train_mask)
        truth = sp.csr_matrix(
            (np.ones(int(held.sum())), (users[held], dataset.item_idx[order[held]])),
            shape=(dataset.n_users, dataset.n_items),
        )
        truth.data[:] = 1.0
        truth = truth - truth.multiply(inner.seen)  # only items new to the user count
        truth.eliminate_zeros()
        return train_mask, sp.csr_matrix(truth)

    def tune(self, dataset: Dataset) -> dict[str, float]:
        """Coordinate ascent over ``grid`` on the inner validation split (module docstring)."""
        names = list(self.config.components)
        train_mask, truth = self.validation_split(dataset)
        inner = dataset.subset(train_mask)
        users = np.flatnonzero(np.diff(truth.indptr) > 0)
        if len(users) == 0:
            log.warning("hybrid: no validation users; using equal weights")
            return dict.fromkeys(names, 1.0)
        rng = np.random.default_rng(self.runtime.seed)
        if len(users) > self.config.max_tune_users:
            users = np.sort(rng.choice(users, self.config.max_tune_users, replace=False))
        seen = inner.seen[users].toarray() > 0
        # Blends are evaluated on each user's candidate pool only — the union of every component's
        # top ``TUNE_POOL`` unseen items — so the grid search costs O(users · pool), not O(users · items).
        normed: dict[str, np.ndarray] = {}
        pools = []
        for n in names:
            started = time.perf_counter()
            model = self._make(n).fit(inner)
            log.info("hybrid tuning: fitted %s on the inner split in %.1fs", n, time.perf_counter() - started)
            scores = normalise(model.score_users(users), self.config.normalization)
            scores[seen] = -1.0
            normed[n] = scores.astype(np.float32)
            m = min(TUNE_POOL, scores.shape[1])
            pools.append(np.argpartition(-scores, m - 1, axis=1)[:, :m])
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
    ) -> dict[str, np.ndarray]:
        """Normalised scores of every weighted component (for blending and explanations)."""
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
            out[n] = normalise(s, self.config.normalization)
        return out

    def _blend(self, parts: dict[str, np.ndarray], n_rows: int) -> np.ndarray:
        total = np.zeros((n_rows, self.n_items))
        for n, s in parts.items():
            total += self.weights[n] * s
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
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
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
        for n, model in self.models.items():
            model.save(directory / "components" / n)
        (directory / "weights.json").write_text(json.dumps(self.weights, indent=2))

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        from shopmind.recommend import get_algorithm

        self.weights = {k: float(v) for k, v in json.loads((directory / "weights.json").read_text()).items()}
        self.models = {
            n: get_algorithm(n).load(directory / "components" / n, self.runtime)
            for n in self.config.components
        }


def mean_ndcg(idx: np.ndarray, truth: sp.csr_matrix, k: int = 10) -> float:
    """Mean binary nDCG@k of ranked item indices against a truth matrix (one row per ranking)."""
    idx = idx[:, :k]
    hits = np.zeros(idx.shape)
    for r in range(idx.shape[0]):
        lo, hi = truth.indptr[r], truth.indptr[r + 1]
        hits[r] = np.isin(idx[r], truth.indices[lo:hi]) & (idx[r] >= 0)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * disc[: idx.shape[1]]).sum(axis=1)
    n_rel = np.minimum(np.diff(truth.indptr), k)
    idcg = np.cumsum(disc)[np.maximum(n_rel - 1, 0)] * (n_rel > 0)
    return float(np.mean(np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)))


__all__ = ["Hybrid", "HybridConfig", "interaction_matrix", "mean_ndcg", "normalise"]
