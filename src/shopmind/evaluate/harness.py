"""Split → fit → rank → measure: the one evaluation loop behind the CLI, the benchmarks and the tests.

:func:`evaluate_model` fits a recommender on ``split.train``, ranks the top-k for ``split.users`` with the
same :func:`~shopmind.recommend.base.top_k` used online (seen items excluded, candidates masked), and
measures the lists with :mod:`shopmind.recommend.metrics`. :func:`run_seeds` repeats that over split
seeds and reports mean ± sample standard deviation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopmind.recommend.base import Recommender, Runtime
from shopmind.recommend.holdout import EvalSplit, measure, rank
from shopmind.recommend.metrics import group_metrics
from shopmind.recommend.registry import ALGORITHMS, get_algorithm

log = logging.getLogger(__name__)


def algorithm_names() -> list[str]:
    """Names of every registered recommender (:data:`shopmind.recommend.registry.ALGORITHMS`)."""
    return sorted(ALGORITHMS)


ModelFactory = Callable[[EvalSplit, int], Recommender]


def factory(name: str, config: Mapping[str, Any] | None = None, threads: int = 1) -> ModelFactory:
    """A factory building ``name`` with ``config`` and ``Runtime(seed, threads)`` for each split/seed."""
    cls = get_algorithm(name)

    def build(split: EvalSplit, seed: int) -> Recommender:
        return cls(dict(config) if config else None, Runtime(seed=seed, threads=threads))

    return build


@dataclass
class ModelResult:
    """One model on one split: summary metrics, per-user values, the scored lists and timings."""

    name: str
    metrics: dict[str, float]
    per_user: dict[str, np.ndarray]
    groups: dict[str, dict[str, dict[str, float]]]
    recs: np.ndarray
    scores: np.ndarray
    users: np.ndarray
    fit_s: float
    recommend_s: float
    n_users: int
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metrics": self.metrics,
            "fit_s": round(self.fit_s, 4),
            "recommend_s": round(self.recommend_s, 4),
            "users": self.n_users,
            "groups": self.groups,
            **({"seed": self.seed} if self.seed is not None else {}),
        }


def evaluate_model(name: str, build: ModelFactory, split: EvalSplit, seed: int = 42) -> ModelResult:
    """Fit ``build(split, seed)`` on ``split.train`` and measure its top-k (see the module docstring)."""
    model = build(split, seed)
    t0 = time.perf_counter()
    model.fit(split.train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    recs, scores = rank(model, split)
    recommend_s = time.perf_counter() - t0
    summary, per_user, kept = measure(split, recs)
    groups = {g: group_metrics(per_user, labels[kept], split.k) for g, labels in split.groups.items()}
    log.info(
        "%s on %s/%s: %s", name, split.dataset, split.protocol, {k: round(v, 4) for k, v in summary.items()}
    )
    return ModelResult(
        name=name,
        metrics=summary,
        per_user=per_user,
        groups=groups,
        recs=recs,
        scores=scores,
        users=split.users,
        fit_s=fit_s,
        recommend_s=recommend_s,
        n_users=int(kept.sum()),
        seed=seed,
    )


def aggregate(results: Sequence[ModelResult]) -> dict[str, Any]:
    """One JSON row over several seeds: mean metrics, ``metrics_sd`` (sample sd), per-seed values."""
    first = results[0]
    keys = list(first.metrics)
    mean = {k: float(np.mean([r.metrics[k] for r in results])) for k in keys}
    sd = {
        k: float(np.std([r.metrics[k] for r in results], ddof=1)) if len(results) > 1 else 0.0 for k in keys
    }
    return {
        "name": first.name,
        "metrics": mean,
        "metrics_sd": sd,
        "fit_s": float(np.mean([r.fit_s for r in results])),
        "recommend_s": float(np.mean([r.recommend_s for r in results])),
        "users": first.n_users,
        "seeds": [r.seed for r in results],
        "per_seed": [{"seed": r.seed, "metrics": r.metrics, "fit_s": r.fit_s} for r in results],
        "groups": first.groups,
    }


def run_seeds(
    name: str, build: ModelFactory, make_split: Callable[[int], EvalSplit], seeds: Sequence[int]
) -> list[ModelResult]:
    """``evaluate_model`` once per seed; the seed drives both the split and the model's runtime seed."""
    return [evaluate_model(name, build, make_split(s), seed=s) for s in seeds]
