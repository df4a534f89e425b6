"""Automatic choice of the served recommender on a shop's own events (``shopmind train``).

**Hold-out.** The latest ``test_fraction`` of every user's events (users with at least 3 events) are
held out (:func:`holdout`, ``how="user"``; ``how="global"`` is the evaluation ``temporal`` protocol, one
time cut for everybody, which favours popularity where most late events come from users who are new
at the cut, as in a rating data set collected over a few months). A held-out item new to the user is relevant. Every candidate is fitted
on the rest and scored by nDCG@10 of its top-10 for at most ``max_users`` held-out users (a seeded
sample), with :func:`~shopmind.recommend.holdout.rank` and
:func:`~shopmind.recommend.holdout.measure` (the same as the offline evaluation).

**Candidates**, in this order: popularity (the baseline); each configured recommender with its
default configuration; the hybrid of those defaults with equal weights (the untuned default when the
configured default is ``hybrid``); then a grid over each algorithm's main hyper-parameter(s)
(:data:`GRIDS`: EASE's λ, item/user-kNN's neighbourhood size, ALS's factors and regularisation),
one value per algorithm per round, the algorithms with the best default scores first; last, the
hybrid over the best configuration of each component with learnt weights.

**Learnt weights.** A composite score that is a weighted sum of component scores — the hybrid's
``Σ w_c · minmax(s_c)``, ``ease_context_fused``'s ``z(ContextEASE) + Σ w_c · z(s_c)``,
``seq_hybrid``'s ``Σ w_c · z(s_c)`` — has its weights chosen by coordinate ascent (two passes over
:data:`WEIGHT_GRID` per component, starting from the configured weights) maximising nDCG@10 on the
hold-out, ranked over each user's candidate pool (the union of every term's top ``POOL`` unseen
items). The composite's score is **cross-fitted** (weights learnt on one half of the hold-out users
are scored on the other half, and the other way round), so it is not inflated by the weight search
against single models whose score had no such search; the weights kept are the ones learnt on all
hold-out users.

**Budget.** Popularity, every configured recommender as configured, the composites' learnt weights
and both hybrids are always scored: together they cost about what fitting the hybrid without
tuning costs (it fits every component on an inner split to learn its weights), and they make the
gain over the untuned default known. The grid is searched while time is left: a grid candidate
starts only when the elapsed time plus its estimate (the slowest measured trial of the same
algorithm, scaled by the factor count for ALS) plus the final hybrid's estimated cost fits
``budget_s``. Time is the process's CPU time, so the same data and budget try the same candidates
on a busy machine as on an idle one, up to the run-to-run jitter of CPU time (caches, threads): a
candidate near the budget's edge may be tried in one run and not in the next. Candidates not
started are recorded as ``skipped``.

The choice is the candidate with the best hold-out nDCG@10 (ties: the earlier candidate); the caller
refits it on all events. Algorithms whose default was not scored keep their default configuration.

**Remembered choice.** :func:`remembered_tune` keeps the choice in a
:class:`~shopmind.train_cache.ChoiceCache` under :func:`tuning_key` — a fingerprint of the training
events, the catalogue and user tables, the configured recommenders, the budget, seed and threads,
the fitting libraries' versions and this package's code. Retraining unchanged data serves the same
models without tuning again (and without the jitter above); any change is a new key and a new choice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from shopmind.capability import TrainProgress, as_progress
from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError, DataError
from shopmind.recommend.base import Recommender, Runtime, zscore_unseen
from shopmind.recommend.ease_context import UNAVAILABLE
from shopmind.recommend.ease_context_fused import FusedContextEASE
from shopmind.recommend.ensemble import Ensemble
from shopmind.recommend.holdout import EvalSplit, measure, rank, temporal_protocol
from shopmind.recommend.hybrid import holdout_split, mean_ndcg, normalise
from shopmind.recommend.registry import ALGORITHMS, get_algorithm, make_algorithm
from shopmind.train_cache import ChoiceCache, Fingerprint, code_digest, library_versions

log = logging.getLogger(__name__)

METRIC = "ndcg@10"
POOL = 100
"""Per scoring term, how many top unseen items per user enter the weight-search candidate pool."""

WEIGHT_GRID: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
"""Values tried for each component weight by the coordinate ascent."""


CHUNK_CELLS = 4_000_000
"""Users × items cells scored at once while building the weight-search pools."""


@dataclass(frozen=True)
class Scale:
    """A grid value relative to the base configuration's value (``base × factor``)."""

    factor: float


GRIDS: dict[str, tuple[dict[str, Any], ...]] = {
    # λ spans two orders of magnitude around the default (Steck, WWW 2019, tunes λ per dataset)
    "ease": ({"l2": Scale(4.0)}, {"l2": Scale(0.25)}, {"l2": Scale(16.0)}, {"l2": Scale(1 / 16)}),
    # neighbourhood size: small k sharpens, large k smooths (Sarwar et al., WWW 2001)
    "item_knn": ({"k": 400}, {"k": 20}, {"k": 1000}, {"k": 50}),
    "user_knn": ({"k": 100}, {"k": 20}, {"k": 200}),
    # capacity and regularisation (Hu, Koren & Volinsky, ICDM 2008; Rendle et al., RecSys 2022)
    "als": (
        {"factors": 128},
        {"regularization": Scale(20.0)},
        {"factors": 32},
        {"regularization": Scale(200.0)},
    ),
}
"""Per algorithm, configuration overrides tried after its default, in order."""


# ====================================================================== records
@dataclass
class Trial:
    """One candidate: what was fitted, how it scored on the hold-out and what it cost."""

    name: str
    algorithm: str
    config: dict[str, Any]
    status: str = "ok"  # ok | skipped | failed
    score: float | None = None
    fit_s: float = 0.0
    score_s: float = 0.0
    weights: dict[str, float] | None = None
    note: str = ""
    started_s: float | None = None  # seconds into the tuning when it started (None: not started)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "algorithm": self.algorithm,
            "config": _jsonable(self.config),
            "status": self.status,
            METRIC: None if self.score is None else round(self.score, 6),
            "fit_s": round(self.fit_s, 3),
            "score_s": round(self.score_s, 3),
            "started_s": None if self.started_s is None else round(self.started_s, 3),
        }
        if self.weights is not None:
            out["weights"] = {k: round(v, 4) for k, v in self.weights.items()}
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class TuningResult:
    """What was tried and chosen (``manifest()`` is what ``shopmind train`` records)."""

    chosen: str
    components: dict[str, dict[str, Any]]
    weights: dict[str, float] | None
    trials: list[Trial]
    split: dict[str, Any]
    budget_s: float
    elapsed_s: float
    default_name: str
    chosen_trial: Trial | None = None

    def _score(self, name: str) -> float | None:
        scores = [t.score for t in self.trials if t.name == name and t.score is not None]
        return scores[0] if scores else None

    @property
    def chosen_score(self) -> float | None:
        return None if self.chosen_trial is None else self.chosen_trial.score

    def manifest(self) -> dict[str, Any]:
        best = self.chosen_trial
        chosen = best.score if best else None
        pop = self._score("popularity")
        default = self._score(self.default_name)

        def gain(base: float | None) -> float | None:
            if chosen is None or base is None or base <= 0:
                return None
            return round(chosen / base - 1.0, 6)

        return {
            "protocol": self.split.get("protocol", "temporal"),
            "metric": METRIC,
            "split": self.split,
            "budget_s": self.budget_s,
            "elapsed_s": round(self.elapsed_s, 3),
            "skipped": sum(t.status == "skipped" for t in self.trials),
            "trials": [t.to_dict() for t in self.trials],
            "chosen": {
                "name": best.name if best else None,
                "algorithm": self.chosen,
                METRIC: None if chosen is None else round(chosen, 6),
                "components": _jsonable(self.components),
                "weights": self.weights,
            },
            "popularity": {METRIC: None if pop is None else round(pop, 6)},
            "default": {"name": self.default_name, METRIC: None if default is None else round(default, 6)},
            "gain_over_popularity": gain(pop),
            "gain_over_default": gain(default),
        }


# ====================================================================== hold-out
HOLDOUTS = ("user", "global")
"""``user``: each user's latest events; ``global``: every event after one time cut."""


def holdout(
    dataset: Dataset,
    test_fraction: float = 0.2,
    max_users: int = 1000,
    seed: int = 42,
    how: str = "user",
) -> EvalSplit:
    """The temporal hold-out split, restricted to at most ``max_users`` seeded held-out users.

    ``how="user"``: the latest ``max(1, ⌊n_u · test_fraction⌋)`` events of every user with at least 3
    events (:func:`shopmind.recommend.hybrid.holdout_split`), so every held-out user has a history
    before it. ``how="global"``: the evaluation ``temporal`` protocol (one time cut for everybody),
    which favours popularity where most late events come from users new at the cut.
    """
    if how == "user":
        _mask, inner, truth = holdout_split(dataset, test_fraction, "temporal", 3, seed)
        users = np.flatnonzero(np.diff(truth.indptr) > 0).astype(np.int64)
        split = EvalSplit(
            dataset="shop",
            protocol="temporal-per-user",
            train=inner,
            users=users,
            truth=sp.csr_matrix(truth[users]),
            truth_items=inner.items,
            exclude=inner.seen,
        )
    elif how == "global":
        split = temporal_protocol(dataset, test_fraction=test_fraction, name="shop")
    else:
        raise ConfigError("unknown hold-out", value=how, expected=" | ".join(HOLDOUTS))
    if len(split.users) == 0:
        raise DataError(
            "the temporal hold-out has no user with a new item in the later events",
            value=dataset.n_events,
            expected="returning users who interact with new items",
        )
    split.info["users_held_out"] = len(split.users)
    if len(split.users) > max_users:
        rows = np.sort(np.random.default_rng(seed).choice(len(split.users), max_users, replace=False))
        split = replace(split, users=split.users[rows], truth=split.truth[rows], groups={})
    return split


def score_model(model: Recommender, split: EvalSplit) -> float:
    """Hold-out nDCG@10 of a fitted model (the evaluation harness's ranking and metric)."""
    recs, _ = rank(model, split)
    summary, _, _ = measure(split, recs)
    return float(summary[METRIC])


# ====================================================================== weights
Terms = Callable[[np.ndarray], tuple[np.ndarray | None, dict[str, np.ndarray]]]
"""users → (fixed term or None, {component: weighted term}): the blend is ``fixed + Σ w_c · term_c``."""


def hybrid_terms(models: Mapping[str, Recommender], how: str = "minmax") -> Terms:
    """The hybrid's terms: per-user normalised component scores (``Hybrid.score_parts``)."""

    def terms(users: np.ndarray) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        return None, {n: normalise(m.score_users(users), how) for n, m in models.items()}

    return terms


def weighted_composites() -> frozenset[str]:
    """Recommenders whose component weights are learnt on the hold-out: the registered ensembles with a
    ``weights`` setting (``stacked`` learns a ranker instead and is tuned like a single model)."""
    return frozenset(
        n
        for n, cls in ALGORITHMS.items()
        if issubclass(cls, Ensemble) and "weights" in cls.Config.model_fields
    )


def fused_terms(model: Recommender) -> Terms:
    """``ease_context_fused``'s terms: ``z(ContextEASE)`` (weight 1, availability mask applied) and each
    fitted component's per-user z-scores over the unseen items (``FusedContextEASE.score_users``)."""
    ctx = model.context_model  # type: ignore[attr-defined]
    models: dict[str, Recommender] = model.models  # type: ignore[attr-defined]

    def terms(users: np.ndarray) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        seen = ctx.interactions[users].toarray() > 0
        fixed = zscore_unseen(ctx.score_users(users), seen)
        if model.mask:  # type: ignore[attr-defined]
            fixed[ctx.item_first[None, :] > ctx.user_last[users][:, None]] -= UNAVAILABLE
        return fixed, {n: zscore_unseen(m.score_users(users), seen) for n, m in models.items()}

    return terms


def seq_terms(model: Recommender, dataset: Dataset) -> Terms:
    """``seq_hybrid``'s terms: its per-sequence z-scored components (``component_scores``)."""
    seqs = dataset.sequences()

    def terms(users: np.ndarray) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        return None, model.component_scores([seqs[u] for u in users])  # type: ignore[attr-defined]

    return terms


@dataclass
class _Pooled:
    """Each user's candidate pool and every term's values on it (see the module docstring)."""

    pool: np.ndarray
    invalid: np.ndarray
    fixed: np.ndarray | None
    parts: dict[str, np.ndarray]
    truth: sp.csr_matrix

    def ndcg(self, weights: Mapping[str, float], rows: np.ndarray | None = None) -> float:
        sel = slice(None) if rows is None else rows
        total = np.zeros(self.pool[sel].shape) if self.fixed is None else self.fixed[sel].copy()
        for n, part in self.parts.items():
            if weights.get(n):
                total += weights[n] * part[sel]
        total[self.invalid[sel]] = -np.inf
        # the top 10 of a few hundred pool entries: argpartition, then a sort of the 10
        k = min(10, total.shape[1])
        pos = np.argpartition(-total, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(total, pos, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        pos, vals = np.take_along_axis(pos, order, axis=1), np.take_along_axis(vals, order, axis=1)
        idx = np.take_along_axis(self.pool[sel], pos, axis=1)
        return mean_ndcg(np.where(np.isfinite(vals), idx, -1), self.truth[sel])


def pool_terms(terms: Terms, split: EvalSplit) -> _Pooled:
    """Score the hold-out users once and keep each term on their candidate pool."""
    users = split.users
    n_items = split.train.n_items
    chunk = max(1, CHUNK_CELLS // max(n_items, 1))
    m = min(POOL, n_items)
    pools, fixed_parts, parts_out, invalid = [], [], [], []
    names: list[str] = []
    for lo in range(0, len(users), chunk):
        batch = users[lo : lo + chunk]
        fixed, parts = terms(batch)
        names = list(parts)
        seen = split.exclude[batch]
        r, c = seen.nonzero()
        sources = ([fixed] if fixed is not None else []) + [parts[n] for n in names]
        tops = []
        for s in sources:
            s = np.array(s, dtype=np.float64)
            s[~np.isfinite(s)] = -np.inf
            s[r, c] = -np.inf
            tops.append(np.argpartition(-s, m - 1, axis=1)[:, :m])
        pool = np.sort(np.hstack(tops), axis=1)
        dup = np.zeros(pool.shape, dtype=bool)
        dup[:, 1:] = pool[:, 1:] == pool[:, :-1]
        seen_dense = np.asarray(seen.toarray(), dtype=bool)
        invalid.append(dup | np.take_along_axis(seen_dense, pool, axis=1))
        pools.append(pool)
        if fixed is not None:
            fixed_parts.append(np.take_along_axis(np.asarray(fixed, dtype=np.float64), pool, axis=1))
        parts_out.append(
            {n: np.take_along_axis(np.asarray(parts[n], np.float64), pool, axis=1) for n in names}
        )
    return _Pooled(
        pool=np.vstack(pools),
        invalid=np.vstack(invalid),
        fixed=np.vstack(fixed_parts) if fixed_parts else None,
        parts={n: np.vstack([p[n] for p in parts_out]) for n in names},
        truth=split.truth,
    )


def coordinate_ascent(
    pooled: _Pooled,
    start: Mapping[str, float],
    rows: np.ndarray | None = None,
    grid: Sequence[float] = WEIGHT_GRID,
    passes: int = 2,
) -> tuple[dict[str, float], float]:
    """Weights maximising pooled nDCG@10 on ``rows``: per component in turn, the best grid value."""
    weights = {n: float(start.get(n, 1.0)) for n in pooled.parts}
    best = pooled.ndcg(weights, rows)
    for _ in range(passes):
        changed = False
        for n in pooled.parts:
            for g in grid:
                trial = {**weights, n: float(g)}
                if pooled.fixed is None and not any(trial.values()):
                    continue
                score = pooled.ndcg(trial, rows)
                if score > best + 1e-12:
                    best, weights, changed = score, trial, True
        if not changed:
            break
    return weights, best


def learn_weights(
    terms: Terms, split: EvalSplit, start: Mapping[str, float], seed: int = 42
) -> tuple[dict[str, float], float, float]:
    """``(weights, cross-fitted nDCG@10, nDCG@10 of the start weights)`` on the hold-out."""
    pooled = pool_terms(terms, split)
    n = len(pooled.pool)
    order = np.random.default_rng(seed).permutation(n)
    halves = (np.sort(order[: n // 2]), np.sort(order[n // 2 :]))
    crossed = 0.0
    if n >= 2:
        for fit_rows, test_rows in (halves, halves[::-1]):
            w, _ = coordinate_ascent(pooled, start, fit_rows)
            crossed += pooled.ndcg(w, test_rows) * len(test_rows) / n
    weights, full = coordinate_ascent(pooled, start)
    if n < 2:
        crossed = full
    return weights, crossed, pooled.ndcg({k: float(start.get(k, 1.0)) for k in pooled.parts})


# ====================================================================== search
def candidate_configs(algorithm: str, base: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The grid of :data:`GRIDS` for ``algorithm`` resolved against ``base`` (duplicates dropped)."""
    defaults = get_algorithm(algorithm).Config().model_dump()
    out: list[dict[str, Any]] = []
    current = {**defaults, **base}
    for step in GRIDS.get(algorithm, ()):
        cfg = dict(base)
        for key, value in step.items():
            if key not in defaults:
                raise ConfigError(f"tuning grid: {algorithm} has no setting", value=key)
            cfg[key] = type(defaults[key])(current[key] * value.factor) if isinstance(value, Scale) else value
        if {**defaults, **cfg} != current and cfg not in out:
            out.append(cfg)
    return out


def _label(algorithm: str, base: Mapping[str, Any], cfg: Mapping[str, Any]) -> str:
    diff = {k: v for k, v in cfg.items() if base.get(k) != v}
    return f"{algorithm}({', '.join(f'{k}={v:g}' if isinstance(v, float) else f'{k}={v}' for k, v in diff.items())})"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _now() -> float:
    """Process CPU seconds (all threads): a budget in CPU time makes the same data and budget try the
    same candidates on a busy machine as on an idle one."""
    return time.process_time()


class _Clock:
    def __init__(self, budget_s: float) -> None:
        self.budget_s = float(budget_s)
        self.started = _now()

    @property
    def elapsed(self) -> float:
        return _now() - self.started

    def start(self, estimate: float | None) -> float | None:
        """The elapsed seconds when a candidate costing ``estimate`` (None: unknown) may start now,
        else None."""
        now = self.elapsed
        fits = now < self.budget_s if estimate is None else now + estimate <= self.budget_s
        return now if fits else None


def tune(
    dataset: Dataset,
    components: Mapping[str, Mapping[str, Any]],
    *,
    budget_s: float,
    default: str = "hybrid",
    runtime: Runtime | None = None,
    test_fraction: float = 0.2,
    max_users: int = 1000,
    holdout_how: str = "user",
    progress: TrainProgress | Callable[[str], None] | None = None,
) -> TuningResult:
    """Choose the served recommender and its main hyper-parameters (module docstring).

    ``components`` maps each configured recommender to its base configuration (what the shop would
    train without tuning); ``default`` is the configured served recommender (``hybrid`` or one of them).
    ``progress`` gets a line per candidate and the count of candidates decided (scored, skipped or
    failed) of those planned, which reaches the total when the choice is made.
    """
    if budget_s <= 0:
        raise ConfigError("tuning budget must be > 0 seconds", value=budget_s)
    if not components:
        raise ConfigError("nothing to tune: no recommenders configured", value={})
    runtime = runtime or Runtime()
    clock = _Clock(budget_s)
    split = holdout(dataset, test_fraction, max_users, runtime.seed, how=holdout_how)
    report = as_progress(progress)
    weighted = weighted_composites()
    singles = [n for n in components if n not in weighted and n != "popularity"]
    composites = [n for n in components if n in weighted and n != "hybrid"]
    grids = {n: candidate_configs(n, components[n]) for n in singles}
    planned = 1 + len(singles) + len(composites) * 2 + 2 + sum(len(g) for g in grids.values())
    trials: list[Trial] = []
    cost: dict[str, float] = {}
    best: dict[str, tuple[float, dict[str, Any], Recommender]] = {}

    def tick(label: str) -> None:
        done = len(trials)
        bar = "█" * round(20 * done / planned) + "░" * (20 - round(20 * done / planned))
        report(f"recommend: tuning {bar} {done}/{planned} {label} · {clock.elapsed:.0f}/{budget_s:.0f} s")
        report.count(planned if label == "done" else min(done, planned), planned, "candidates")

    def estimate(algorithm: str, cfg: Mapping[str, Any]) -> float | None:
        if algorithm not in cost:
            return None
        factor = 1.0
        if algorithm == "als" and "factors" in cfg:
            base = {**get_algorithm(algorithm).Config().model_dump(), **components[algorithm]}
            factor = max(1.0, cfg["factors"] / float(base["factors"]))
        return cost[algorithm] * factor

    def run(
        name: str, algorithm: str, cfg: dict[str, Any], reserve: float = 0.0, required: bool = False
    ) -> Trial:
        trial = Trial(name, algorithm, cfg)
        trials.append(trial)
        est = estimate(algorithm, cfg)
        trial.started_s = clock.elapsed if required else clock.start(None if est is None else est + reserve)
        if trial.started_s is None:
            trial.status, trial.note = "skipped", "budget"
            return trial
        tick(name)
        try:
            t0 = _now()
            model = make_algorithm(algorithm, cfg, runtime).fit(split.train)
            trial.fit_s = _now() - t0
            t0 = _now()
            trial.score = score_model(model, split)
            trial.score_s = _now() - t0
        except (ConfigError, DataError, ValueError, MemoryError) as exc:  # one bad candidate, not the run
            trial.status, trial.note = "failed", f"{type(exc).__name__}: {exc}"[:300]
            log.warning("tuning: %s failed: %s", name, trial.note)
            return trial
        cost[algorithm] = max(cost.get(algorithm, 0.0), trial.fit_s + trial.score_s)
        if algorithm not in best or trial.score > best[algorithm][0] + 1e-12:  # type: ignore[operator]
            best[algorithm] = (float(trial.score), cfg, model)  # type: ignore[arg-type]
        log.info("tuning: %s nDCG@10 %.4f (fit %.1fs)", name, trial.score, trial.fit_s)
        return trial

    def reserve_for(models: Mapping[str, Recommender]) -> float:
        # scoring every component for the hold-out users (the equal blend's measured time, once known)
        scored = [t.score_s for t in trials if t.name == "hybrid" and t.status == "ok"]
        return 2.0 * scored[0] if scored else sum(cost.get(n, 0.0) for n in models)

    def blend(
        name: str,
        models: Mapping[str, Recommender],
        start: Mapping[str, float],
        learn: bool,
        required: bool = False,
    ) -> Trial:
        trial = Trial(name, "hybrid", {"components": sorted(models)})
        trials.append(trial)
        if len(models) < 2:
            trial.status, trial.note = "skipped", "needs two components"
            return trial
        trial.started_s = clock.elapsed if required else clock.start(reserve_for(models))
        if trial.started_s is None:
            trial.status, trial.note = "skipped", "budget"
            return trial
        tick(name)
        t0 = _now()
        terms = hybrid_terms(models)
        if learn:
            trial.weights, trial.score, _ = learn_weights(terms, split, start, runtime.seed)
        else:
            trial.weights = dict(start)
            trial.score = pool_terms(terms, split).ndcg(start)
        trial.score_s = _now() - t0
        log.info("tuning: %s nDCG@10 %.4f with %s", name, trial.score, trial.weights)
        return trial

    # 1. the baseline and every configured algorithm as configured
    run("popularity", "popularity", dict(components.get("popularity", {})), required=True)
    for n in singles:
        run(n, n, dict(components[n]), required=True)
    defaults = {
        n: best[n][2]
        for n in [*(["popularity"] if "popularity" in components else []), *singles]
        if n in best
    }
    equal = blend("hybrid", defaults, dict.fromkeys(defaults, 1.0), learn=False, required=True)
    # 2. composites with configured weights, then with weights learnt on the hold-out
    composite_configs: dict[str, dict[str, Any]] = {}
    for n in composites:
        trial = run(n, n, dict(components[n]), required=True)
        if trial.status != "ok":
            continue
        model = best[n][2]
        start = {k: float(v) for k, v in model.config.weights.items() if k in model.models}  # type: ignore[attr-defined]
        learnt = Trial(f"{n} (learnt weights)", n, dict(components[n]))
        trials.append(learnt)
        learnt.started_s = clock.elapsed
        tick(learnt.name)
        t0 = _now()
        terms = fused_terms(model) if isinstance(model, FusedContextEASE) else seq_terms(model, split.train)
        weights, learnt.score, _ = learn_weights(terms, split, start, runtime.seed)
        learnt.score_s = _now() - t0
        full = {**model.config.weights, **weights}  # type: ignore[attr-defined]
        learnt.weights = full
        learnt.config = {**components[n], "weights": full}
        if learnt.score >= (trial.score or 0.0):
            composite_configs[n] = learnt.config
        else:  # the configured weights did better out of sample: they are served
            learnt.note = "not served: the configured weights scored higher"
    # 3. the grid, one step per algorithm per round; time for step 4 stays reserved
    reserve = reserve_for(defaults)
    rounds = max((len(g) for g in grids.values()), default=0)
    # the strongest defaults are searched first: a short budget goes where the served model comes from
    strongest = sorted((n for n in singles if n in best), key=lambda n: -best[n][0])
    for r in range(rounds):
        for n in strongest:
            if r < len(grids[n]) and n in best:
                cfg = grids[n][r]
                run(_label(n, components[n], cfg), n, cfg, reserve)
    # 4. the hybrid over the best configuration of each component, weights learnt (its cost was reserved)
    tuned = {n: best[n][2] for n in defaults}
    final = blend(
        "hybrid (tuned, learnt weights)", tuned, dict.fromkeys(tuned, 1.0), learn=True, required=True
    )
    tick("done")
    # what is served: every single algorithm in its best scored configuration, composites with the
    # weights that scored better (configured or learnt), the hybrid with learnt weights, else the equal
    # weights it was scored with, else None (the hybrid learns them while fitting, as without tuning)
    chosen_components = {n: dict(best[n][1]) if n in best else dict(components[n]) for n in components}
    chosen_components.update(composite_configs)
    served_blend = final if final.status == "ok" else equal
    hybrid_weights = served_blend.weights if served_blend.status == "ok" else None
    servable = [
        t
        for t in trials
        if t.status == "ok" and t.score is not None and (t.algorithm in components or t is served_blend)
    ]
    top = max(servable, key=lambda t: t.score or 0.0) if servable else None
    default_name = default if default in components else "hybrid"
    result = TuningResult(
        chosen=top.algorithm if top is not None else default_name,
        chosen_trial=top,
        components=chosen_components,
        weights=hybrid_weights,
        trials=trials,
        split={
            "protocol": split.protocol,
            "test_fraction": test_fraction,
            "cut_timestamp": split.info.get("cut_timestamp"),
            "users_held_out": split.info.get("users_held_out"),
            "users_scored": len(split.users),
            "train_events": split.train.n_events,
        },
        budget_s=float(budget_s),
        elapsed_s=clock.elapsed,
        default_name=default_name,
    )
    if top is None:
        log.warning("tuning: no candidate scored within %.0fs; serving %s untuned", budget_s, default_name)
        return result
    log.info(
        "tuning: chose %s (nDCG@10 %.4f) of %d trials in %.1fs",
        top.name,
        top.score,
        len(trials),
        result.elapsed_s,
    )
    return result


# ====================================================================== remembered choice
CHOICE_FORMAT = 1
"""Version of the remembered choice's layout (part of the key)."""

FIT_LIBRARIES = ("numpy", "scipy", "implicit", "scikit-learn", "pandas")
"""Libraries whose version can change a candidate's fit or score (part of the key)."""


def tuning_key(
    dataset: Dataset,
    components: Mapping[str, Mapping[str, Any]],
    *,
    budget_s: float,
    default: str,
    runtime: Runtime,
    test_fraction: float = 0.2,
    max_users: int = 1000,
    holdout_how: str = "user",
) -> str:
    """SHA-256 of every input of :func:`tune` (module docstring, "Remembered choice")."""
    fp = Fingerprint("recommend-tuning")
    fp.add_json(
        {
            "format": CHOICE_FORMAT,
            "components": components,
            "budget_s": float(budget_s),
            "default": default,
            "seed": runtime.seed,
            "threads": runtime.threads,
            "test_fraction": test_fraction,
            "max_users": max_users,
            "holdout_how": holdout_how,
            "libraries": library_versions(FIT_LIBRARIES),
            "code": code_digest("recommend"),
        }
    )
    return fp.add_dataset(dataset).hexdigest()


@dataclass(frozen=True)
class Choice:
    """What the training serves from a tuning: the chosen algorithm, the component configurations, the
    hybrid's weights, and the tuning's record (``TuningResult.manifest()``) with ``reused`` set."""

    chosen: str
    components: dict[str, dict[str, Any]]
    weights: dict[str, float] | None
    record: dict[str, Any]

    @classmethod
    def of(cls, result: TuningResult) -> Choice:
        return cls(result.chosen, result.components, result.weights, result.manifest())


def remembered_tune(
    cache: ChoiceCache | None,
    dataset: Dataset,
    components: Mapping[str, Mapping[str, Any]],
    *,
    budget_s: float,
    default: str = "hybrid",
    runtime: Runtime | None = None,
    progress: TrainProgress | Callable[[str], None] | None = None,
) -> Choice:
    """:func:`tune`, or the choice it made before on the same inputs (``cache``'s entry under
    :func:`tuning_key`); ``cache=None`` always tunes. ``record["reused"]`` says which."""
    runtime = runtime or Runtime()
    key = tuning_key(dataset, components, budget_s=budget_s, default=default, runtime=runtime)
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        doc, _ = hit
        try:
            choice = Choice(
                str(doc["chosen"]),
                {str(n): dict(c) for n, c in doc["components"].items()},
                None if doc["weights"] is None else {str(n): float(w) for n, w in doc["weights"].items()},
                {**doc["record"], "reused": True, "key": key[:16]},
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            log.warning("tuning: remembered choice %s unusable (%s); tuning again", key[:16], exc)
        else:
            as_progress(progress).message(
                f"recommend: same data and settings as a previous training: serving its choice "
                f"({choice.chosen}) without tuning again"
            )
            log.info("tuning: reused the choice made on the same inputs (key %s)", key[:16])
            return choice
    result = tune(dataset, components, budget_s=budget_s, default=default, runtime=runtime, progress=progress)
    choice = Choice.of(result)
    if cache is not None:
        try:
            cache.put(
                key,
                {
                    "chosen": choice.chosen,
                    "components": choice.components,
                    "weights": choice.weights,
                    "record": choice.record,
                },
            )
        except OSError as exc:  # a read-only or full disk costs the next training time, nothing else
            log.warning("tuning: could not remember the choice (%s)", exc)
    return Choice(choice.chosen, choice.components, choice.weights, {**choice.record, "reused": False})


__all__ = [
    "CHOICE_FORMAT",
    "GRIDS",
    "Choice",
    "Trial",
    "TuningResult",
    "candidate_configs",
    "coordinate_ascent",
    "holdout",
    "learn_weights",
    "remembered_tune",
    "score_model",
    "tune",
    "tuning_key",
]
