"""Context EASE fused with item-kNN, BPR and iALS by per-user z-scores (``ease_context_fused``).

The scores of :class:`~shopmind.recommend.ease_context.ContextEASE` (its availability mask held back)
and of the other models are standardised per user over the user's unseen items and summed::

    score_u = z(ContextEASE_u) + Σ_c w_c · z(model_c,u),   z(s)_i = (s_i − mean_unseen(s)) / sd_unseen(s)

and the availability mask is applied after the sum (an item first seen after the user's last event
still ranks below every other one). An item a model cannot score (``−inf``/NaN, e.g. outside EASE's
model) is left out of that model's mean and deviation and ranked last. The components bring signal a
linear item-item regression lacks: cosine item-kNN normalises co-counts by popularity, BPR (Rendle et
al., UAI 2009) fits a pairwise ranking loss, and implicit ALS (Hu, Koren & Volinsky 2008) is a smooth
low-rank factorisation (Rendle et al., "Revisiting the Performance of iALS on Item Recommendation
Benchmarks", RecSys 2022, show it competitive with a small unobserved weight and a strong regulariser).

Defaults: equal weights — every model's z-scores count once (CombSUM of Fox & Shaw 1994 over
z-score-normalised scores, Montague & Aslam 2001) — and each component with its library defaults.
Weights tuned on a data set are presets (:mod:`shopmind.presets`). Fold-in is not supported (BPR has
no fold-in; the shop's hybrid serves sessions). Hand-written glue only: every component is the
project's library-backed model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError
from shopmind.recommend.base import AlgorithmConfig, Runtime, zscore_unseen
from shopmind.recommend.ease_context import UNAVAILABLE, ContextEASE
from shopmind.recommend.ensemble import Ensemble, EnsembleConfig
from shopmind.recommend.registry import register

CONTEXT_DIR = "context"
"""Sub-folder of a saved model holding its ContextEASE (fitted with the availability mask off)."""


def _default_components() -> dict[str, dict[str, Any]]:
    return {"item_knn": {}, "bpr": {}, "als": {}}


class FusedContextEASEConfig(EnsembleConfig):
    context: dict[str, Any] = Field(
        default_factory=dict, description="ContextEASE config (its availability_mask is applied after fusion)"
    )
    components: dict[str, dict[str, Any]] = Field(
        default_factory=_default_components, description="algorithm name → config of each fused model"
    )
    weights: dict[str, float] = Field(
        default_factory=lambda: {"item_knn": 1.0, "bpr": 1.0, "als": 1.0},
        description="w_c: weight of each component's z-scores (ContextEASE has weight 1)",
    )


@register
class FusedContextEASE(Ensemble):
    """ContextEASE + weighted z-scores of other models, availability mask last (module docstring)."""

    name = "ease_context_fused"
    Config = FusedContextEASEConfig
    config: FusedContextEASEConfig
    single_components = True

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
        self.mask = bool(cfg.context.get("availability_mask", True))
        self.context_model = self._context()

    def fitted_names(self) -> list[str]:
        """A component with weight 0 adds nothing, so it is not fitted."""
        return [n for n, w in self.config.weights.items() if w > 0]

    def _context(self) -> ContextEASE:
        return ContextEASE({**self.config.context, "availability_mask": False}, self.runtime)

    def _fit(self, dataset: Dataset) -> None:
        self.context_model = self._context().fit(dataset)
        self.models = self.fit_components(dataset)

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
        self.context_model.save(directory / CONTEXT_DIR)

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        super()._restore(arrays, directory)
        self.context_model = ContextEASE.load(directory / CONTEXT_DIR, self.runtime)


__all__ = ["FusedContextEASE", "FusedContextEASEConfig"]
