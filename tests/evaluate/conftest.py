"""Helpers for the evaluation tests: a reference SAR written here, independent of shopmind.recommend.sar."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.data.dataset import Dataset, EventWeights
from shopmind.recommend.base import AlgorithmConfig, Recommender


class RefSARConfig(AlgorithmConfig):
    half_life_days: float = 30.0


class ReferenceSAR(Recommender):
    """SAR as Microsoft Recommenders configures it for the ml-100k benchmark.

    Affinity ``A[u,i] = Σ rating · 0.5^((now − t)/30 days)`` with ``now`` = last training timestamp;
    Jaccard item similarity ``S = C / (c_ii + c_jj − C)`` from the binary co-occurrence ``C = BᵀB``;
    scores ``A · S``. Deliberately not registered (tests only).
    """

    name = "reference_sar"
    Config = RefSARConfig

    def _fit(self, dataset: Dataset) -> None:
        w = EventWeights(
            weights={"rating": 1.0}, rating_as_value=True, half_life_days=self.config.half_life_days
        )
        self.A = dataset.matrix(w).astype(np.float64)
        b = (self.A > 0).astype(np.float64)
        c = (b.T @ b).toarray()
        d = np.diag(c)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = c / (d[:, None] + d[None, :] - c)
        self.S = np.nan_to_num(s)

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.A[user_idx] @ self.S)


@pytest.fixture
def reference_sar_cls() -> type[ReferenceSAR]:
    return ReferenceSAR
