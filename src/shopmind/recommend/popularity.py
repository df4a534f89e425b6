"""Popularity baselines: all-time popularity and trending (time-decayed popularity).

* ``popularity``: ``score_i = |{u : X_ui > 0}|`` (distinct users), or the summed event weights
  ``Σ_u X_ui`` with ``weighted=True``.
* ``trending``: ``score_i = Σ_e w(type_e) · 2^(−(t_now − t_e)/T)`` over the events of item ``i``,
  half-life ``T`` days (7 by default), ``t_now`` = the last training timestamp. A shop's
  "trending" list; also the cold-start answer for unknown users.

Both ignore the user, so ``score_history`` simply repeats the item scores (they "fold in" trivially
and serve users nobody has seen).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.catalog import path_key, split_path
from shopmind.data.dataset import SECONDS_PER_DAY, Dataset, EventWeights
from shopmind.recommend.base import AlgorithmConfig, Recommender, top_k
from shopmind.recommend.registry import register


class _ItemScores(Recommender):
    """Shared machinery: one score per item, the same for every user."""

    supports_fold_in = True
    item_scores: np.ndarray

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        users = self.check_users(user_idx)
        return np.tile(self.item_scores, (len(users), 1))

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        rows = self.check_rows(rows)
        return np.tile(self.item_scores, (rows.shape[0], 1))

    def top(self, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most popular items (optionally among ``allowed``), best first."""
        self.check_fitted()
        idx, sc = top_k(self.item_scores[None, :], k, None, allowed)
        keep = idx[0] >= 0
        return idx[0][keep], sc[0][keep]

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores}

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.item_scores = arrays["item_scores"]


class PopularityConfig(AlgorithmConfig):
    weighted: bool = Field(False, description="sum event weights instead of counting distinct users")


@register
class Popularity(_ItemScores):
    """All-time popularity (see module docstring)."""

    name = "popularity"
    Config = PopularityConfig
    config: PopularityConfig

    def _fit(self, dataset: Dataset) -> None:
        if self.config.weighted:
            scores = np.asarray(dataset.matrix().sum(axis=0)).ravel()
        else:
            scores = dataset.item_counts()
        self.item_scores = np.asarray(scores, dtype=np.float64)


class TrendingConfig(AlgorithmConfig):
    half_life_days: float = Field(7.0, gt=0, description="half-life T of an event's weight, in days")
    window_days: float | None = Field(
        None, gt=0, description="ignore events older than this many days (None = all, decayed)"
    )


@register
class Trending(_ItemScores):
    """Time-decayed popularity, ``Σ_e w_e · 2^(−age_e / T)`` (see module docstring)."""

    name = "trending"
    Config = TrendingConfig
    config: TrendingConfig

    def _fit(self, dataset: Dataset) -> None:
        now = dataset.last_timestamp
        # Weights by event type (purchase > cart > view) come from the dataset; decay is ours.
        w = EventWeights(
            weights=dataset.weights.weights,
            rating_as_value=False,
            half_life_days=self.config.half_life_days,
            now=now,
        )
        weights = dataset.event_weights(w).astype(np.float64)
        if self.config.window_days is not None:
            weights[(now - dataset.timestamp) > self.config.window_days * SECONDS_PER_DAY] = 0.0
        self.item_scores = np.bincount(dataset.item_idx, weights=weights, minlength=dataset.n_items)
        self.now = now
        table = dataset.item_table
        cats = table["category"].tolist() if "category" in table.columns else [None] * dataset.n_items
        self.categories = [path_key(split_path(c)) for c in cats]

    def trending(self, k: int, category: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` trending items, optionally within a category path prefix (``"Home > Kitchen"``)."""
        self.check_fitted()
        allowed = None
        if category:
            key = path_key(split_path(category))
            allowed = np.fromiter(
                (c == key or c.startswith(key + " > ") for c in self.categories), bool, len(self.categories)
            )
        idx, sc = self.top(k, allowed)
        keep = sc > 0
        return idx[keep], sc[keep]

    def save(self, directory: Path) -> None:
        super().save(directory)
        (directory / "categories.json").write_text(json.dumps(self.categories, ensure_ascii=False))

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores}

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.item_scores = arrays["item_scores"]
        path = directory / "categories.json"
        self.categories = json.loads(path.read_text()) if path.exists() else [""] * len(self.item_scores)
