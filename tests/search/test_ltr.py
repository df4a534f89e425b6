"""Learned ranker: click labels, training, save/load, reranking inside the engine."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.errors import DataError, NotFittedError
from shopmind.search.engine import ProductSearch
from shopmind.search.ltr import FEATURES, RankingData, Reranker, click_labels

from .conftest import ITEMS


def test_skip_above_labels():
    ids = ["a", "b", "c", "d", "e"]
    assert click_labels(ids, [3]) == {"a": 0, "b": 0, "c": 1}
    assert click_labels(ids, [2, 4]) == {"a": 0, "b": 1, "c": 0, "d": 1}
    assert click_labels(ids, []) == {}
    assert click_labels(ids, [9]) == {}


def _synthetic(n_queries=60, n=20, seed=0):
    rng = np.random.default_rng(seed)
    parts = []
    for q in range(n_queries):
        X = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
        y = (X[:, 0] > 0.5).astype(np.float32) * 2 + (X[:, 0] > 1.2)
        parts.append((f"q{q}", X, y))
    return RankingData.stack(parts)


def test_reranker_learns_the_signal(tmp_path):
    model = Reranker(rounds=50).fit(_synthetic())
    test = _synthetic(5, seed=1)
    pred = model.predict(test.X)
    # the label is a step function of feature 0: rank correlation with it must be strong
    from scipy.stats import spearmanr

    assert spearmanr(pred, test.y).statistic > 0.7
    assert max(model.importance(), key=model.importance().get) == FEATURES[0]
    model.save(tmp_path / "m")
    again = Reranker.load(tmp_path / "m")
    assert np.allclose(again.predict(test.X), pred)
    assert (tmp_path / "m" / "ranker.lgb.txt").read_text().startswith("tree")


def test_errors():
    with pytest.raises(NotFittedError):
        Reranker().predict(np.zeros((1, len(FEATURES))))
    with pytest.raises(DataError):
        RankingData.stack([])


def test_ltr_mode_uses_the_reranker(engine: ProductSearch):
    q = engine._retrieve("black", "hybrid", None)
    X = engine.features(q, q.rows)
    assert X.shape == (len(q.rows), len(FEATURES))
    # teach it to like cheap products: the reranked order must follow price
    parts = []
    for query in ("black", "portable", "headphones", "wireless", "audio", "ssd"):
        qq = engine._retrieve(query, "hybrid", None)
        if len(qq.rows) < 2:
            continue
        Xq = engine.features(qq, qq.rows)
        price = engine.catalog.price[qq.rows]
        y = (price < np.median(price)).astype(np.float32)
        parts.append((query, Xq, y))
    engine.reranker = Reranker(params={"min_data_in_leaf": 1, "min_data_in_bin": 1}, rounds=30).fit(
        RankingData.stack(parts)
    )
    res = engine.search("black", mode="ltr")
    assert res.mode == "ltr"
    assert res.ids[0] in {"sp1", "ssd2"}
    # without a reranker ltr degrades to hybrid
    engine.reranker = None
    assert engine.search("black", mode="ltr").mode == "hybrid"


def test_features_have_expected_values(engine):
    q = engine._retrieve("sony headphones black", "hybrid", None)
    row = engine.lexical.row_of["hp1"]
    X = engine.features(q, np.array([row]))
    f = dict(zip(FEATURES, X[0].tolist(), strict=True))
    assert f["coverage"] == 1.0 and f["title_coverage"] == pytest.approx(2 / 3)
    assert f["brand_in_query"] == 1.0 and f["bm25_brand"] > 0 and f["bm25_title"] > 0
    assert f["in_stock"] == 0.0 and f["query_words"] == 3
    assert f["popularity_log"] == pytest.approx(np.log1p(10.0))
    assert ITEMS[2]["id"] == "hp1"


def test_train_reranker_from_judgements(engine):
    queries = {"q1": "black", "q2": "headphones", "q3": "portable ssd", "q4": "wireless"}
    qrels = {"q1": {"tv1": 3, "sp1": 1}, "q2": {"hp2": 3, "hp1": 1}, "q3": {"ssd2": 3}, "q4": {"kb1": 2}}
    model = engine.train_reranker(queries, qrels, min_data_in_leaf=1, min_data_in_bin=1)
    assert engine.reranker is model
    res = engine.search("black", mode="ltr")
    assert res.mode == "ltr" and len(res.ids) >= 4
