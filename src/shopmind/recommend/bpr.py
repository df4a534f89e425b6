"""Bayesian Personalised Ranking (Rendle et al. 2009) with ``cornac`` (``bpr``).

SGD on sampled triples ``(u, i, j)`` maximising ``ln σ(x̂_ui − x̂_uj) − λ‖Θ‖²`` with
``x̂_ui = x_u · y_i + b_i``, via ``cornac``'s ``BPR`` (the implementation behind the published MS
Recommenders BPR row). Not ``implicit``'s BPR: implicit draws the negative ``j`` from the interaction
list, i.e. proportional to item popularity, so popular items are pushed down as often as they are
pulled up and the item bias learns nothing (docs/bench/recommend.md compares the two samplers with the
same SGD update). The item bias is stored as an extra factor (user side fixed to 1). No fold-in.

Scores are ``x_u · y_i`` (:class:`~shopmind.recommend.factors.FactorModel`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.recommend.base import AlgorithmConfig, interaction_matrix
from shopmind.recommend.factors import FactorModel
from shopmind.recommend.registry import register


class BPRConfig(AlgorithmConfig):
    """Defaults: ``implicit``'s ``BayesianPersonalizedRanking`` defaults (100 factors, learning rate 0.01,
    λ 0.01, 100 epochs) — the standard settings of the same SGD model in a widely used library
    (cornac's own defaults, 10 factors at learning rate 0.001, are a quick-start setting)."""

    factors: int = Field(100, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    regularization: float = Field(0.01, ge=0)
    iterations: int = Field(100, ge=1)


@register
class BPR(FactorModel):
    """BPR via ``cornac.models.BPR`` (see module docstring)."""

    name = "bpr"
    Config = BPRConfig
    config: BPRConfig

    def _fit(self, dataset: Dataset) -> None:
        from cornac.data import Dataset as CornacDataset
        from cornac.models import BPR as CornacBPR

        cfg = self.config
        x = sp.coo_matrix(interaction_matrix(dataset, binary=True))
        if x.nnz == 0:  # nothing to rank: all-zero factors (cornac's Dataset needs ratings)
            self.user_factors = np.zeros((dataset.n_users, cfg.factors + 1), dtype=np.float32)
            self.item_factors = np.zeros((dataset.n_items, cfg.factors + 1), dtype=np.float32)
            return
        # cornac's Dataset built straight from index arrays (its ``from_uir`` walks Python tuples);
        # no id maps: indices are already ours
        train = CornacDataset(
            dataset.n_users,
            dataset.n_items,
            None,
            None,
            (x.row.astype(np.int64), x.col.astype(np.int64), x.data.astype(np.float32)),
            seed=self.runtime.seed,
        )
        # cornac runs single-threaded when seeded (hogwild SGD is not reproducible across threads)
        model = CornacBPR(
            k=cfg.factors,
            max_iter=cfg.iterations,
            learning_rate=cfg.learning_rate,
            lambda_reg=cfg.regularization,
            seed=self.runtime.seed,
            verbose=self.runtime.progress,
        )
        model.fit(train)
        ones = np.ones((dataset.n_users, 1), dtype=np.float32)
        self.user_factors = np.hstack([np.asarray(model.u_factors, dtype=np.float32), ones])
        self.item_factors = np.hstack(
            [
                np.asarray(model.i_factors, dtype=np.float32),
                np.asarray(model.i_biases, dtype=np.float32)[:, None],
            ]
        )


__all__ = ["BPR", "BPRConfig"]
