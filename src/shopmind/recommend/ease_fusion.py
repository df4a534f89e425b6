"""Context EASE fused with item-kNN, BPR and iALS by per-user z-scores (``ease_context_fused``).

The scores of :class:`~shopmind.recommend.ease_context.ContextEASE` (its availability mask held back)
and of the other models are standardised per user over the user's unseen items and summed::

    score_u = z(ContextEASE_u) + Σ_c w_c · z(model_c,u),   z(s)_i = (s_i − mean_unseen(s)) / sd_unseen(s)

and the availability mask is applied after the sum (an item first seen after the user's last event
still ranks below every other one). An item a model cannot score (``−inf``/NaN, e.g. outside EASE's
model) is left out of that model's mean and deviation and ranked last. The components bring signal a
linear item-item regression lacks: cosine item-kNN normalises co-counts by popularity, BPR (Rendle et
al., UAI 2009) fits a pairwise ranking loss, and iALS with a small weight on unobserved items and a
strong regulariser (Rendle et al., "Revisiting the Performance of iALS on Item Recommendation
Benchmarks", RecSys 2022) is a smooth low-rank factorisation. Each alone is below ``ease_context``;
one at a time each adds ≤ +0.6 % to it on the ml-100k inner splits, the three together about +1 %.

Defaults are the inner-split choice on ml-100k (``docs/bench/recommend.md``): chosen on the mean of
inner seeds 7–10 of the seed-42 training set (0.2822 → 0.2852), checked once on inner seeds 11, 12
(0.2765 → 0.2796; an earlier, rejected candidate had been checked on them too). Fold-in is not supported (BPR has no fold-in; the shop's hybrid serves
sessions). Hand-written glue only: every component is the project's library-backed model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError
from shopmind.recommend.base import AlgorithmConfig, Recommender, Runtime, register, zscore_unseen
from shopmind.recommend.ease_context import UNAVAILABLE, ContextEASE


def _default_components() -> dict[str, dict[str, Any]]:
    # item_knn and bpr: the project's ml-100k rows (bench/bench_recommend.py, BPRConfig's defaults);
    # als: iALS in Rendle et al.'s (2022) form — 256 factors, confidence 1 + 20·r (unobserved weight
    # α0 = 1/21 after rescaling), regularisation 84 (= 4 × 21): best single addition of a 12-point grid
    # (α 10/20/40 × λ/(1+α) 4–7) on ml-100k inner seeds 7–10 (bench/results/tune_ml100k_fusion.json)
    return {
        "item_knn": {"similarity": "cosine", "k": 400, "binary": True},
        "bpr": {},
        "als": {"factors": 256, "regularization": 84.0, "alpha": 20.0, "binary": True, "iterations": 20},
    }


class FusedContextEASEConfig(AlgorithmConfig):
    # Weights: the grid point with the best mean over itself and its grid neighbours (within 0.1 % of the
    # best, with the fewest components: Mult-VAE left out) of item_knn {0, 0.5, 0.8} × bpr {0, 0.5} ×
    # als {0, 0.5, 0.8, 1.2} × Mult-VAE {0, 0.5} on ml-100k inner seeds 7–10 (mean nDCG@10 0.2852 vs
    # 0.2822 for ease_context alone), checked once on inner seeds 11, 12 (0.2796 vs 0.2765):
    # bench/results/tune_ml100k_fusion.json.
    context: dict[str, Any] = Field(
        default_factory=dict, description="ContextEASE config (its availability_mask is applied after fusion)"
    )
    components: dict[str, dict[str, Any]] = Field(
        default_factory=_default_components, description="algorithm name → config of each fused model"
    )
    weights: dict[str, float] = Field(
        default_factory=lambda: {"item_knn": 0.8, "bpr": 0.5, "als": 0.8},
        description="w_c: weight of each component's z-scores (ContextEASE has weight 1)",
    )


@register
class FusedContextEASE(Recommender):
    """ContextEASE + weighted z-scores of other models, availability mask last (module docstring)."""

    name = "ease_context_fused"
    Config = FusedContextEASEConfig
    config: FusedContextEASEConfig

    def __init__(
        self, config: AlgorithmConfig | dict[str, Any] | None = None, runtime: Runtime | None = None
    ) -> None:
        super().__init__(config, runtime)
        cfg = self.config
        if set(cfg.weights) != set(cfg.components):
            raise ConfigError(
                "ease_context_fused: weights and components name different models",
                value=sorted(cfg.weights),
                expected=", ".join(sorted(cfg.components)),
            )
        bad = {n: w for n, w in cfg.weights.items() if not np.isfinite(w) or w < 0}
        if bad:
            raise ConfigError("ease_context_fused: weights must be finite and ≥ 0", value=bad)
        if {"ease_context_fused", "stacked", "hybrid"} & set(cfg.components):
            raise ConfigError(
                "ease_context_fused: components must be single models", value=sorted(cfg.components)
            )
        self.mask = bool(cfg.context.get("availability_mask", True))
        self.context_model = self._context()
        self.models: dict[str, Recommender] = {}

    def _weighted(self) -> list[str]:
        return [n for n, w in self.config.weights.items() if w > 0]

    def _context(self) -> ContextEASE:
        return ContextEASE({**self.config.context, "availability_mask": False}, self.runtime)

    def _fit(self, dataset: Dataset) -> None:
        from shopmind.recommend import make_algorithm

        self.context_model = self._context().fit(dataset)
        # a component with weight 0 adds nothing, so it is not fitted
        self.models = {
            n: make_algorithm(n, self.config.components[n], self.runtime).fit(dataset)
            for n in self._weighted()
        }

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        users = self.check_users(user_idx)
        ctx = self.context_model
        seen = ctx.interactions[users].toarray() > 0
        out = zscore_unseen(ctx.score_users(users), seen)
        for n, model in self.models.items():
            out += self.config.weights[n] * zscore_unseen(model.score_users(users), seen)
        if self.mask:
            late = ctx.item_first[None, :] > ctx.user_last[users][:, None]
            out[late] -= UNAVAILABLE
        return out

    def save(self, directory: Path) -> None:
        super().save(directory)
        self.context_model.save(directory / "context")
        for n, model in self.models.items():
            model.save(directory / "components" / n)

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        from shopmind.recommend import get_algorithm

        self.context_model = ContextEASE.load(directory / "context", self.runtime)
        self.models = {
            n: get_algorithm(n).load(directory / "components" / n, self.runtime) for n in self._weighted()
        }


__all__ = ["FusedContextEASE", "FusedContextEASEConfig"]
