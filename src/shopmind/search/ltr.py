"""Learned ranking: a LightGBM LambdaMART reranker over the top-N fused candidates.

Objective ``lambdarank`` (Burges 2010, "From RankNet to LambdaRank to LambdaMART"), optimising
nDCG with gain ``2^g − 1``. Features per (query, product) — :data:`FEATURES`:

* per-field BM25 (title, brand, category, attributes, description) and the boosted sum;
* word coverage overall and in the title (fraction of query words present);
* exact phrase in title, title starts with the query, brand named in the query;
* semantic cosine similarity; keyword and semantic rank (log);
* popularity (log distinct users), click-through rate, price (log), in stock, rating;
* the user's affinity to the product's brand/category; title length; number of query words.

Training data comes from either

* **judgements** (qrels): candidates of each judged query labelled with their grade, unjudged = 0;
* **logged clicks**: for each logged search with clicks, clicked results are labelled 1 and results
  shown *above* a click but skipped are labelled 0; results below the last click are not used
  (Joachims 2002 "skip-above" pairs). Position bias is handled by construction: a skipped result above
  a click was almost surely examined, so "not clicked" there means "less relevant" rather than "not
  seen". (Inverse-propensity weights are not used: LightGBM's lambdarank only takes per-query weights.)

The model is saved with ``Booster.save_model`` (LightGBM's text format), never pickle.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.errors import ArtifactError, DataError

log = logging.getLogger(__name__)

FEATURES: tuple[str, ...] = (
    "bm25_title",
    "bm25_brand",
    "bm25_category",
    "bm25_attributes",
    "bm25_description",
    "bm25_total",
    "coverage",
    "title_coverage",
    "phrase_in_title",
    "title_prefix",
    "brand_in_query",
    "cosine",
    "lex_rank_log",
    "sem_rank_log",
    "popularity_log",
    "ctr",
    "price_log",
    "in_stock",
    "rating",
    "affinity",
    "title_terms",
    "query_words",
)

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambdarank_truncation_level": 20,
    "num_threads": 1,
    "seed": 42,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}


@dataclass
class RankingData:
    """Stacked candidate features of many queries; ``groups`` are per-query row counts."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    qids: list[str]

    @classmethod
    def stack(cls, parts: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> RankingData:
        parts = [p for p in parts if len(p[1])]
        if not parts:
            raise DataError("no candidates to learn from", expected="queries with at least one candidate")
        return cls(
            np.vstack([p[1] for p in parts]).astype(np.float32),
            np.concatenate([p[2] for p in parts]).astype(np.float32),
            np.array([len(p[1]) for p in parts], dtype=np.int32),
            [p[0] for p in parts],
        )


class Reranker:
    """LightGBM lambdarank model over :data:`FEATURES`."""

    def __init__(self, booster: Any = None, params: dict[str, Any] | None = None, rounds: int = 300) -> None:
        self.booster = booster
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.rounds = rounds

    def fit(self, data: RankingData) -> Reranker:
        import lightgbm as lgb

        if data.X.shape[1] != len(FEATURES):
            raise DataError("feature count mismatch", value=data.X.shape[1], expected=str(len(FEATURES)))
        labels = np.clip(np.rint(data.y), 0, 30).astype(np.int32)
        ds = lgb.Dataset(data.X, labels, group=data.groups, feature_name=list(FEATURES), free_raw_data=True)
        self.booster = lgb.train(self.params, ds, num_boost_round=self.rounds)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.booster is None:
            from shopmind.errors import NotFittedError

            raise NotFittedError("reranker used before fit/load")
        if not len(X):
            return np.zeros(0)
        return np.asarray(self.booster.predict(X, num_threads=1), dtype=np.float64)

    def importance(self) -> dict[str, float]:
        gains = self.booster.feature_importance(importance_type="gain")
        return {f: float(g) for f, g in zip(FEATURES, gains, strict=True)}

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(path / "ranker.lgb.txt"))
        (path / "ranker.json").write_text(
            json.dumps({"features": list(FEATURES), "rounds": self.rounds}), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> Reranker:
        import lightgbm as lgb

        meta = json.loads((path / "ranker.json").read_text(encoding="utf-8"))
        if tuple(meta["features"]) != FEATURES:
            raise ArtifactError("reranker features differ from this version", value=meta["features"])
        return cls(lgb.Booster(model_file=str(path / "ranker.lgb.txt")), rounds=meta["rounds"])


def click_labels(result_ids: Sequence[str], clicked_positions: Sequence[int]) -> dict[str, int]:
    """Skip-above labels for one logged search: clicked → 1, shown above the last click and not clicked → 0.

    ``clicked_positions`` are 1-based positions into ``result_ids``; results below the last click
    get no label (they may not have been seen).
    """
    clicked = {p for p in clicked_positions if 1 <= p <= len(result_ids)}
    if not clicked:
        return {}
    last = max(clicked)
    return {str(result_ids[p - 1]): int(p in clicked) for p in range(1, last + 1)}
