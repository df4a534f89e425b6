"""Sequential hybrid: a weighted blend of per-sequence z-scored next-item scores.

``score_j = Σ_c w_c · (s_{c,j} − μ_c) / σ_c``, with ``μ_c, σ_c`` the mean and standard deviation of
component ``c``'s scores over the items NOT in the user's sequence (the ones that can be recommended),
so components on different scales (SASRec logits, kNN sums, rule counts) mix by how far an item stands
out for this user. Components that score sequences (``score_sequences``: SASRec, sequential rules) get
the sequence; fold-in components (item-kNN, content, popularity) get a history row weighting each item
``0.5^(age / h)`` (``history_half_life`` h, age 0 = latest). An empty sequence falls back to training
popularity. Non-finite component scores (EASE's unmodelled items) sink to the row's lowest z-score.

Defaults: SASRec, sequential rules, item-kNN and content, each with its library defaults, at equal
weights (CombSUM of Fox & Shaw 1994 over z-score-normalised scores, Montague & Aslam 2001). Components
and weights tuned on a data set are presets (:mod:`shopmind.presets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError
from shopmind.recommend.base import AlgorithmConfig, Recommender, Runtime, zscore_unseen
from shopmind.recommend.ensemble import Ensemble, EnsembleConfig
from shopmind.recommend.registry import register
from shopmind.recommend.sasrec import pad_sequences
from shopmind.recommend.seq_rules import recency_rows


def _default_components() -> dict[str, dict[str, Any]]:
    # a catalogue without text or attributes gives the content component all-zero z-scores
    return {"sasrec": {}, "seq_rules": {}, "item_knn": {}, "content": {}}


def _default_weights() -> dict[str, float]:
    return {"sasrec": 0.25, "seq_rules": 0.25, "item_knn": 0.25, "content": 0.25}


class SequentialHybridConfig(EnsembleConfig):
    components: dict[str, dict[str, Any]] = Field(default_factory=_default_components)
    weights: dict[str, float] = Field(default_factory=_default_weights)
    history_half_life: float = Field(
        1.0, gt=0, description="recency half-life of fold-in history rows, items"
    )
    max_history: int = Field(50, ge=1, le=1000, description="most recent items kept per sequence")

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()) or not any(v.values()):
            raise ValueError("weights must be >= 0 with at least one > 0")
        return v


def zscore_rows(scores: np.ndarray, seqs: Sequence[np.ndarray]) -> np.ndarray:
    """:func:`~shopmind.recommend.base.zscore_unseen` with each row's sequence items as its seen items.

    Non-finite scores (EASE's ``-inf`` for items it does not model) get the row's lowest z-score:
    such an item sinks in this component without vetoing the others.
    """
    s = np.asarray(scores, dtype=np.float64)
    seen = np.zeros(s.shape, dtype=bool)
    lengths = np.array([len(q) for q in seqs], dtype=np.int64)
    if lengths.sum():
        seen[np.repeat(np.arange(len(seqs)), lengths), np.concatenate(seqs)] = True
    return zscore_unseen(s, seen, missing="lowest")


@register
class SequentialHybrid(Ensemble):
    """SASRec + sequential rules + item-kNN + attributes + popularity blended per sequence; see the
    module docstring."""

    name = "seq_hybrid"
    Config = SequentialHybridConfig
    config: SequentialHybridConfig
    uses_torch = True  # the default components include SASRec

    def __init__(
        self, config: AlgorithmConfig | dict[str, Any] | None = None, runtime: Runtime | None = None
    ) -> None:
        super().__init__(config, runtime)
        unknown = set(self.config.weights) - set(self.config.components)
        if unknown:
            raise ConfigError(
                "weights name components that are not configured",
                value=sorted(unknown),
                expected=", ".join(self.config.components),
            )

    def fitted_names(self) -> list[str]:
        """Only weighted components are fitted: a component with weight 0 costs nothing."""
        return [n for n in self.config.components if self.config.weights.get(n, 0.0) > 0]

    def _fit(self, dataset: Dataset) -> None:
        self.models = self.fit_components(dataset)
        self._remember(dataset)

    def _remember(self, dataset: Dataset) -> None:
        self._user_seqs = pad_sequences(dataset.sequences(), self.config.max_history, shift=1)
        self._popularity = np.bincount(dataset.item_idx, minlength=self.n_items).astype(np.float64)

    @classmethod
    def from_fitted(
        cls,
        models: Mapping[str, Recommender],
        dataset: Dataset,
        config: SequentialHybridConfig | dict[str, Any] | None = None,
        runtime: Runtime | None = None,
    ) -> SequentialHybrid:
        """A hybrid over components already fitted on ``dataset`` (benchmarks reuse saved models)."""
        hybrid = cls(config, runtime)
        missing = set(hybrid.fitted_names()) - set(models)
        if missing:
            raise ConfigError("fitted components missing", value=sorted(missing))
        hybrid.n_users, hybrid.n_items = dataset.n_users, dataset.n_items
        hybrid.models = {n: models[n] for n in hybrid.fitted_names()}
        hybrid._remember(dataset)
        hybrid._fitted = True
        return hybrid

    def with_weights(self, weights: dict[str, float]) -> SequentialHybrid:
        """The same fitted components under other weights (validation grids without refitting)."""
        cfg = self.Config(**{**self.config.model_dump(), "weights": weights})
        other = type(self)(cfg, self.runtime)
        missing = set(other.fitted_names()) - set(self.models)
        if missing:
            raise ConfigError("weights name components that were not fitted", value=sorted(missing))
        other.n_users, other.n_items, other._fitted = self.n_users, self.n_items, self._fitted
        other.models = {n: self.models[n] for n in other.fitted_names()}
        other._user_seqs, other._popularity = self._user_seqs, self._popularity
        return other

    # ---------------------------------------------------------------- scoring
    def component_scores(self, sequences: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Each weighted component's z-scored next-item scores for ``sequences``."""
        self.check_fitted()
        seqs = [
            self.check_items(np.asarray(s, dtype=np.int64))[-self.config.max_history :] for s in sequences
        ]
        out = {}
        for n in self.fitted_names():
            model = self.models[n]
            fn = getattr(model, "score_sequences", None)
            if callable(fn):
                s = fn(seqs)
            else:
                rows = recency_rows(
                    seqs, self.n_items, self.config.history_half_life, self.config.max_history
                )
                s = model.score_history(rows)
            out[n] = zscore_rows(s, seqs)
        return out

    def score_sequences(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """Blended next-item scores ``[len(sequences), n_items]`` (fold-in: any new sequence)."""
        parts = self.component_scores(sequences)
        total = np.zeros((len(sequences), self.n_items))
        for n, z in parts.items():
            total += self.config.weights[n] * z
        empty = np.array([len(s) == 0 for s in sequences], dtype=bool)
        total[empty] = self._popularity
        return total

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Scores from each user's training sequence."""
        self.check_fitted()
        padded = self._user_seqs[self.check_users(user_idx)]
        return self.score_sequences([row[row > 0] - 1 for row in padded])

    # ---------------------------------------------------------------- persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {"user_seqs": self._user_seqs, "popularity": self._popularity}

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        super()._restore(arrays, directory)
        self._user_seqs = np.array(arrays["user_seqs"])
        self._popularity = np.array(arrays["popularity"])
