"""Stacked recommender: a LightGBM LambdaMART re-ranker over candidates pooled from several models.

Two stages (the "candidate generation + learned ranking" design of Covington et al., RecSys 2016;
the ranker is LambdaMART, Burges 2010, as implemented by LightGBM's ``lambdarank`` objective):

1. **Candidates.** Every component (EASE, ALS, item-/user-kNN, popularity, …) ranks the user's unseen
   items; the union of each component's top ``candidates`` items is the user's pool.
2. **Ranking.** For each (user, pooled item) a feature vector — per component the min-max normalised
   score ``(s − min_u)/(max_u − min_u)`` and the rank ``r`` in its top list (``candidates`` when absent);
   the item's popularity share ``n_i / n_events`` and mean value; the user's relative activity
   ``n_u / mean_v n_v``, mean and spread of values; and time features: the item's share of all events
   inside the user's active window ``[first_u − w, last_u + w]`` (what was being watched/bought while the
   user was active), the item's first/median event time relative to the user's median time (days) —
   is scored by a LambdaMART model, which orders the pool. Items outside the pool rank below it, in
   the backbone component's order.

**Training without leakage.** ``fit(dataset)`` holds out a random (``validation="random"``) or the latest
(``"temporal"``) ``holdout_fraction`` of each user's events, fits the components on the rest, builds the
pools and features there and labels a pooled item 1 when it is among the user's held-out items. This is
repeated for ``folds`` different random hold-outs (more query groups: on a small user base one hold-out
can let LambdaMART overfit within a few rounds), and ``early_stopping_fraction`` of the users — in every fold —
are kept aside to pick the number of boosting rounds. The components are then refitted on the whole
dataset and the ranker is applied to their pools. Counts enter the features as shares/ratios so their scale does not shift
between the smaller inner split and the full data. Everything the ranker learns comes from the data
given to ``fit`` — under an evaluation protocol, from the training part only.

Fold-in is not offered: the time features need the user's event timestamps, which a bare history row
does not carry (``supports_fold_in = False``; the shop's hybrid serves sessions). Reasons delegate to
the component whose features carry the most gain in the ranker (:attr:`Stacked.explainer_name`).
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
from shopmind.recommend.base import (
    AlgorithmConfig,
    Runtime,
    load_sparse,
    save_sparse,
    top_k,
)
from shopmind.recommend.ensemble import Ensemble, EnsembleConfig
from shopmind.recommend.hybrid import holdout_split, minmax_stats, normalise
from shopmind.recommend.registry import get_algorithm, register

log = logging.getLogger(__name__)

DAY = 86_400.0
SCORE_CHUNK_CELLS = 4_000_000
"""Users × items cells scored at once (bounded dense temporaries per component)."""


def _default_components() -> dict[str, dict[str, Any]]:
    # EASE, windowed sequence co-occurrence, ALS, item-/user-kNN and popularity, each with its library
    # defaults (configurations tuned on a data set are presets, shopmind.presets)
    return {"ease": {}, "seq_cooc": {}, "als": {}, "item_knn": {}, "user_knn": {}, "popularity": {}}


class StackedConfig(EnsembleConfig):
    """Defaults: the ranker has LightGBM's defaults (31 leaves, learning rate 0.1, at most 100 rounds,
    20 samples per leaf, no L2, no bagging), with early stopping on held-out users; one random hold-out of
    20 % of each user's events (the share :class:`~shopmind.recommend.hybrid.Hybrid` validates on); 100
    candidates per component (the hybrid's tuning pool); a one-week margin around the active window."""

    components: dict[str, dict[str, Any]] = Field(
        default_factory=_default_components, description="candidate generators: algorithm → config"
    )
    candidates: int = Field(100, ge=1, description="top items per component pooled per user")
    holdout_fraction: float = Field(0.2, gt=0, lt=1, description="share of each user's events held out")
    validation: Literal["random", "temporal"] = Field(
        "random", description="hold out a random sample of each user's events, or the latest ones"
    )
    min_user_events: int = Field(3, ge=2, description="users with fewer events hold nothing out")
    window_days: float = Field(
        7.0, ge=0, description="margin w of the user's active window [first−w, last+w]"
    )
    time_features: bool = Field(True, description="use the event-time features (module docstring)")
    n_estimators: int = Field(100, ge=1, description="boosting rounds at most (early stopping picks fewer)")
    learning_rate: float = Field(0.1, gt=0)
    num_leaves: int = Field(31, ge=2)
    min_child_samples: int = Field(20, ge=1)
    l2: float = Field(0.0, ge=0, description="LightGBM lambda_l2")
    early_stopping_fraction: float = Field(
        0.2, ge=0, lt=1, description="share of the ranker's training users kept aside for early stopping"
    )
    early_stopping_rounds: int = Field(30, ge=1)
    subsample: float = Field(1.0, gt=0, le=1)
    colsample_bytree: float = Field(1.0, gt=0, le=1)
    max_train_users: int = Field(50_000, ge=1, description="users sampled per fold for the ranker's training")
    folds: int = Field(
        1, ge=1, description="hold-out folds (different random seeds) pooled as training groups"
    )


class Features:
    """User/item statistics of one dataset, from which the ranker's features are computed."""

    def __init__(self, dataset: Dataset, window_days: float) -> None:
        n_u, n_i = dataset.n_users, dataset.n_items
        u, i, t = dataset.user_idx, dataset.item_idx, dataset.timestamp.astype(np.float64)
        v = dataset.value.astype(np.float64)
        n = max(dataset.n_events, 1)
        self.window = window_days * DAY
        u_count = np.bincount(u, minlength=n_u).astype(np.float64)
        i_count = np.bincount(i, minlength=n_i).astype(np.float64)
        active = u_count > 0
        self.user = {
            "activity": u_count / max(float(u_count[active].mean()) if active.any() else 1.0, 1e-9),
            "value_mean": _group_mean(u, v, u_count),
            "value_sd": np.sqrt(
                np.maximum(_group_mean(u, v * v, u_count) - _group_mean(u, v, u_count) ** 2, 0)
            ),
            "first": _group_reduce(u, t, n_u, np.minimum, np.inf),
            "last": _group_reduce(u, t, n_u, np.maximum, -np.inf),
            "median": _group_median(u, t, n_u),
        }
        self.user["span_days"] = np.where(active, (self.user["last"] - self.user["first"]) / DAY, 0.0)
        self.item = {
            "pop_share": i_count / n,
            "value_mean": _group_mean(i, v, i_count),
            "first": _group_reduce(i, t, n_i, np.minimum, np.inf),
            "median": _group_median(i, t, n_i),
        }
        # events sorted by (item, time) and all times sorted: window counts by binary search
        order = np.lexsort((t, i))
        self.i_sorted = i[order].astype(np.int64)
        self.t_sorted = t[order]
        self.i_bounds = np.searchsorted(self.i_sorted, np.arange(n_i + 1))
        self.all_t = np.sort(t)

    def state(self) -> dict[str, np.ndarray]:
        out = {f"user_{k}": v for k, v in self.user.items()}
        out.update({f"item_{k}": v for k, v in self.item.items()})
        out.update(
            {
                "i_sorted": self.i_sorted,
                "t_sorted": self.t_sorted,
                "i_bounds": self.i_bounds,
                "all_t": self.all_t,
                "window": np.asarray(self.window),
            }
        )
        return out

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray]) -> Features:
        self = cls.__new__(cls)
        self.user = {k[5:]: arrays[k] for k in arrays if k.startswith("user_")}
        self.item = {k[5:]: arrays[k] for k in arrays if k.startswith("item_")}
        self.i_sorted, self.t_sorted = arrays["i_sorted"], arrays["t_sorted"]
        self.i_bounds, self.all_t = arrays["i_bounds"], arrays["all_t"]
        self.window = float(arrays["window"])
        return self

    @staticmethod
    def names(time_features: bool) -> list[str]:
        base = ["item_pop_share", "item_value_mean", "user_activity", "user_value_mean", "user_value_sd"]
        if time_features:
            base += ["user_span_days", "window_share", "item_first_vs_user_days", "item_median_vs_user_days"]
        return base

    def matrix(self, users: np.ndarray, items: np.ndarray, time_features: bool) -> np.ndarray:
        """Feature columns (order of :meth:`names`) for the pairs ``(users[r], items[r])``."""
        cols = [
            self.item["pop_share"][items],
            self.item["value_mean"][items],
            self.user["activity"][users],
            self.user["value_mean"][users],
            self.user["value_sd"][users],
        ]
        if time_features:
            lo = self.user["first"][users] - self.window
            hi = self.user["last"][users] + self.window
            # events of item i inside [lo, hi]: binary search in the item's slice of the (item, time)-sorted
            # times, done for all pairs at once by offsetting into the item's block
            start, end = self.i_bounds[items], self.i_bounds[items + 1]
            n_in = _count_in_blocks(self.t_sorted, start, end, lo, hi)
            total = np.searchsorted(self.all_t, hi, side="right") - np.searchsorted(
                self.all_t, lo, side="left"
            )
            median_u = self.user["median"][users]
            cols += [
                self.user["span_days"][users],
                np.divide(n_in, total, out=np.zeros(len(users)), where=total > 0),
                _days(median_u - self.item["first"][items]),
                _days(self.item["median"][items] - median_u),
            ]
        return np.column_stack(cols).astype(np.float32)


def _days(delta: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(delta), delta / DAY, np.nan)


def _count_in_blocks(
    sorted_t: np.ndarray, start: np.ndarray, end: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Per pair r: how many of ``sorted_t[start[r]:end[r]]`` (ascending) lie in ``[lo[r], hi[r]]``.

    Vectorised binary search: ``k`` halving steps over all pairs at once (no per-pair Python loop).
    """
    a = _lower_bound(sorted_t, start.copy(), end.copy(), lo, strict=False)
    b = _lower_bound(sorted_t, start.copy(), end.copy(), hi, strict=True)
    return (b - a).astype(np.float64)


def _lower_bound(
    sorted_t: np.ndarray, lo_idx: np.ndarray, hi_idx: np.ndarray, value: np.ndarray, strict: bool
) -> np.ndarray:
    """First position in ``[lo_idx, hi_idx)`` whose time is ``>= value`` (``> value`` when ``strict``)."""
    if not len(sorted_t):
        return lo_idx
    while True:
        active = lo_idx < hi_idx
        if not active.any():
            return lo_idx
        mid = (lo_idx + hi_idx) // 2
        t = sorted_t[np.minimum(mid, len(sorted_t) - 1)]
        go_right = active & ((t <= value) if strict else (t < value))
        lo_idx = np.where(go_right, mid + 1, lo_idx)
        hi_idx = np.where(active & ~go_right, mid, hi_idx)


def _group_mean(g: np.ndarray, x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    sums = np.bincount(g, weights=x, minlength=len(counts))
    return np.divide(sums, counts, out=np.full(len(counts), np.nan), where=counts > 0)


def _group_reduce(g: np.ndarray, x: np.ndarray, n: int, op: np.ufunc, init: float) -> np.ndarray:
    out = np.full(n, init)
    op.at(out, g, x)
    return np.where(np.isfinite(out), out, np.nan)


def _group_median(g: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    """Per-group median (lower middle element) via one lexsort."""
    out = np.full(n, np.nan)
    if not len(g):
        return out
    order = np.lexsort((x, g))
    gs, xs = g[order], x[order]
    bounds = np.searchsorted(gs, np.arange(n + 1))
    counts = np.diff(bounds)
    has = counts > 0
    out[has] = xs[bounds[:-1][has] + (counts[has] - 1) // 2]
    return out


@register
class Stacked(Ensemble):
    """Candidates from several recommenders re-ranked by LambdaMART (see module docstring)."""

    name = "stacked"
    Config = StackedConfig
    config: StackedConfig
    supports_similar = True
    single_components = True

    def __init__(
        self, config: AlgorithmConfig | dict[str, Any] | None = None, runtime: Runtime | None = None
    ) -> None:
        super().__init__(config, runtime)
        comps = self.config.components
        self.booster: Any = None
        self.features: Features | None = None
        self.seen: sp.csr_matrix = sp.csr_matrix((0, 0))
        similar = [n for n in comps if get_algorithm(n).supports_similar]
        # reasons: the first component with item similarity until the ranker's gains pick one
        self.explainer_name = similar[0] if similar else next(iter(comps))
        self.validation_ndcg: float | None = None

    # ---------------------------------------------------------------- fitting
    def feature_names(self) -> list[str]:
        comp = [f"{n}_{kind}" for n in self.config.components for kind in ("score", "rank")]
        return comp + Features.names(self.config.time_features)

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        self.booster = None
        groups, users_of, xs, ys = [], [], [], []
        for fold in range(cfg.folds):
            part = self._training_pairs(dataset, self.runtime.seed + fold)
            if part is not None:
                rows, users, x, y = part
                groups.append(rows + fold * dataset.n_users)
                users_of.append(users[rows])
                xs.append(x)
                ys.append(y)
        if groups:
            self._train_ranker(
                np.concatenate(groups), np.concatenate(users_of), np.vstack(xs), np.concatenate(ys)
            )
        self.models = self.fit_components(dataset)
        self.features = Features(dataset, cfg.window_days)
        self.seen = dataset.seen

    def _training_pairs(
        self, dataset: Dataset, seed: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """One hold-out fold: ``(row, users, features, label)`` of the pooled pairs, or None (no users)."""
        cfg = self.config
        _mask, inner, truth = holdout_split(
            dataset, cfg.holdout_fraction, cfg.validation, cfg.min_user_events, seed
        )
        users = np.flatnonzero(np.diff(truth.indptr) > 0)
        if len(users) > cfg.max_train_users:
            users = np.sort(np.random.default_rng(seed).choice(users, cfg.max_train_users, replace=False))
        if not len(users):
            return None
        self.models = self.fit_components(inner)
        self.features = Features(inner, cfg.window_days)
        self.seen = inner.seen
        chunk = max(1, SCORE_CHUNK_CELLS // max(dataset.n_items, 1))
        parts = [self._pool_features(users[lo : lo + chunk]) for lo in range(0, len(users), chunk)]
        rows = np.concatenate([p[0] + k * chunk for k, p in enumerate(parts)])
        items = np.concatenate([p[1] for p in parts])
        y = np.asarray(truth[users[rows], items]).ravel() > 0
        return rows, users, np.vstack([p[2] for p in parts]), y

    def _train_ranker(self, groups: np.ndarray, users: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """LambdaMART over query groups (fold, user) whose pool holds a held-out item (others carry no
        signal); ``groups`` ascending. Users kept aside for early stopping are left out of every fold."""
        import lightgbm as lgb

        _, rows = np.unique(groups, return_inverse=True)
        has_pos = np.bincount(rows, weights=y.astype(np.float64)) > 0
        keep = has_pos[rows]
        n_groups = int(has_pos.sum())
        if n_groups < 2 or keep.sum() < 2:
            log.warning(
                "stacked: %d users with a held-out item in their pool; ranking by the blend", n_groups
            )
            return
        rows, users, x, y = rows[keep], users[keep], x[keep], y[keep]
        cfg = self.config
        # users kept aside for early stopping: the ranker otherwise memorises (user, item) pairs
        distinct = np.unique(users)
        rng = np.random.default_rng(self.runtime.seed)
        n_stop = round(len(distinct) * cfg.early_stopping_fraction)
        stop_users = rng.choice(distinct, n_stop, replace=False) if n_stop >= 1 else np.empty(0, np.int64)
        is_stop = np.isin(users, stop_users)
        if is_stop.all():
            is_stop[:] = False
        params = {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [10],
            "learning_rate": cfg.learning_rate,
            "num_leaves": cfg.num_leaves,
            "min_data_in_leaf": cfg.min_child_samples,
            "lambda_l2": cfg.l2,
            "bagging_fraction": cfg.subsample,
            "bagging_freq": 1 if cfg.subsample < 1 else 0,
            "feature_fraction": cfg.colsample_bytree,
            "seed": self.runtime.seed,
            "deterministic": True,
            "num_threads": max(self.runtime.threads, 1),
            "verbosity": -1,
        }
        started = time.perf_counter()
        names_f = self.feature_names()

        def dataset(sel: np.ndarray) -> Any:
            r = rows[sel]
            group = np.bincount(r)[np.unique(r)]  # rows are grouped per user already
            return lgb.Dataset(x[sel], label=y[sel].astype(np.float32), group=group, feature_name=names_f)

        train = dataset(~is_stop)
        valid = [dataset(is_stop)] if is_stop.any() else []
        callbacks: list[Any] = [lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)] if valid else []
        self.booster = lgb.train(
            params, train, num_boost_round=cfg.n_estimators, valid_sets=valid, callbacks=callbacks
        )
        if valid:
            self.validation_ndcg = float(self.booster.best_score["valid_0"]["ndcg@10"])
        gain = self.booster.feature_importance("gain")
        names = list(self.config.components)
        per_comp = [gain[2 * k] + gain[2 * k + 1] for k in range(len(names))]
        explainers = [k for k, n in enumerate(names) if self.models[n].supports_similar]
        if explainers:
            self.explainer_name = names[max(explainers, key=lambda k: per_comp[k])]
        log.info(
            "stacked: ranker trained on %d groups / %d pairs in %.1fs (%d rounds); reasons from %s",
            n_groups,
            len(y),
            time.perf_counter() - started,
            self.booster.best_iteration or self.booster.current_iteration(),
            self.explainer_name,
        )

    # ---------------------------------------------------------------- pools and features
    def _pool_features(
        self, users: np.ndarray, component_scores: dict[str, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(row in users, item, features)`` for every pooled (user, item) pair, rows ascending."""
        cfg = self.config
        assert self.features is not None
        scores = component_scores if component_scores is not None else self._component_scores(users)
        exclude = self.seen[users]
        n_cand = min(cfg.candidates, self.n_items)
        tops = {n: top_k(s, n_cand, exclude)[0] for n, s in scores.items()}
        pool = np.sort(np.hstack(list(tops.values())), axis=1)
        valid = pool >= 0
        valid[:, 1:] &= pool[:, 1:] != pool[:, :-1]
        rows, cols = np.nonzero(valid)
        items = pool[rows, cols]
        feats = []
        for n, s in scores.items():
            lo, inv, _finite = minmax_stats(s)
            raw = s[rows, items]
            ok = np.isfinite(raw)
            feats.append(np.where(ok, (raw - lo[rows, 0]) * inv[rows, 0], 0.0))
            feats.append(_rank_in_top(tops[n], rows, items, n_cand))
        base = self.features.matrix(users[rows], items, cfg.time_features)
        return rows, items, np.column_stack([np.column_stack(feats).astype(np.float32), base])

    def _component_scores(self, users: np.ndarray) -> dict[str, np.ndarray]:
        return {n: np.asarray(m.score_users(users), dtype=np.float64) for n, m in self.models.items()}

    # ---------------------------------------------------------------- scoring
    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        users = self.check_users(user_idx)
        chunk = max(1, SCORE_CHUNK_CELLS // max(self.n_items, 1))
        return np.vstack(
            [self._score_chunk(users[lo : lo + chunk]) for lo in range(0, len(users), chunk)]
            or [np.empty((0, self.n_items))]
        )

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        scores = self._component_scores(users)
        base = normalise(scores[next(iter(scores))])  # the backbone in [0, 1]: order outside the pool
        if self.booster is None:  # no ranker (too little data): the components' normalised sum
            return np.sum([normalise(s) for s in scores.values()], axis=0)
        rows, items, x = self._pool_features(users, scores)
        pred = self.booster.predict(
            x, num_iteration=self.booster.best_iteration or None, num_threads=max(self.runtime.threads, 1)
        )
        # pooled items above every unpooled one; ties in the ranker's output broken by the backbone
        floor = np.full(len(users), np.inf)
        np.minimum.at(floor, rows, pred)
        floor = np.where(np.isfinite(floor), floor, 0.0)
        out = (floor - 2.0)[:, None] + base
        out[rows, items] = pred + 1e-6 * base[rows, items]
        return out

    # ---------------------------------------------------------------- explanations
    def similar_scores(self, item_idx: np.ndarray) -> np.ndarray:
        """Item similarity of the explaining component (the one with the most ranker gain)."""
        self.check_fitted()
        return self.models[self.explainer_name].similar_scores(self.check_items(item_idx))

    def similarity_block(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        self.check_fitted()
        return self.models[self.explainer_name].similarity_block(sources, targets)

    # ---------------------------------------------------------------- persistence
    def _state(self) -> dict[str, np.ndarray]:
        assert self.features is not None
        return {**self.features.state(), **save_sparse("seen", self.seen)}

    def save(self, directory: Path) -> None:
        super().save(directory)
        meta = {"explainer": self.explainer_name, "has_ranker": self.booster is not None}
        (directory / "stacked.json").write_text(json.dumps(meta, indent=2))
        if self.booster is not None:
            self.booster.save_model(str(directory / "ranker.txt"))

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        super()._restore(arrays, directory)
        self.features = Features.from_state({k: v for k, v in arrays.items() if not k.startswith("seen_")})
        self.seen = load_sparse("seen", arrays)
        meta = json.loads((directory / "stacked.json").read_text())
        self.explainer_name = meta["explainer"]
        self.booster = None
        if meta["has_ranker"]:
            import lightgbm as lgb

            self.booster = lgb.Booster(model_file=str(directory / "ranker.txt"))


def _rank_in_top(top: np.ndarray, rows: np.ndarray, items: np.ndarray, n_cand: int) -> np.ndarray:
    """Position of ``items[r]`` in ``top[rows[r]]`` (``n_cand`` when absent)."""
    n_items = int(max(top.max(initial=0), items.max(initial=0))) + 1
    pos = np.full((top.shape[0], n_items), n_cand, dtype=np.float32) if top.size else None
    if pos is None:
        return np.full(len(rows), float(n_cand), dtype=np.float32)
    r, c = np.nonzero(top >= 0)
    pos[r, top[r, c]] = c
    return pos[rows, items]


__all__ = ["Features", "Stacked", "StackedConfig"]
