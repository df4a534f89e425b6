"""The fold-in / session serving path equals full scoring.

``score_row`` (one user's history as arrays) must give exactly what ``score_history`` of the one-row
matrix gives, component by component and for the blended hybrid, and the service's fold-in and
session answers must equal those of the plain full-scoring path (same items, order, scores, reasons).
Checked on a random 300-item shop where EASE models only part of the catalogue (a support).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopmind.catalog import Catalog
from shopmind.data.dataset import Dataset
from shopmind.recommend import make_algorithm
from shopmind.recommend.base import Runtime, top_k
from shopmind.recommend.cooccur import BoughtTogether
from shopmind.recommend.filters import RecFilters
from shopmind.recommend.hybrid import Hybrid, minmax_stats
from shopmind.recommend.popularity import Trending
from shopmind.recommend.service import RecommendService, strongest_events

RT = Runtime(seed=3, threads=1)
N_USERS, N_ITEMS = 150, 300
CONFIGS = {
    "popularity": {},
    "trending": {},
    "ease": {"top_items": 120, "precision": "float32"},  # 180 items outside the model: a support
    "item_knn": {"k": 30},
    "als": {"factors": 12, "iterations": 4},
    "content": {},
}
WEIGHTS = {"popularity": 0.5, "ease": 2.0, "item_knn": 1.0, "als": 1.0, "content": 1.0}


@pytest.fixture(scope="module")
def shop() -> Dataset:
    """Random shop: popularity-skewed histories of views/carts/purchases, texts from a small vocabulary."""
    rng = np.random.default_rng(11)
    words = np.array([f"w{k}" for k in range(60)])
    items = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(N_ITEMS)],
            "title": [" ".join(rng.choice(words, 4)) for _ in range(N_ITEMS)],
            "description": [" ".join(rng.choice(words, 6)) for _ in range(N_ITEMS)],
            "category": [["Home", "Kitchen"] if i % 3 else ["Sport", f"S{i % 4}"] for i in range(N_ITEMS)],
            "brand": [f"B{i % 7}" if i % 5 else None for i in range(N_ITEMS)],
            "price": rng.uniform(5, 80, N_ITEMS).round(2),
            "stock": rng.integers(0, 4, N_ITEMS),
        }
    )
    popularity = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.8
    rows = []
    for u in range(N_USERS):
        n = int(rng.integers(2, 40))
        for k, i in enumerate(rng.choice(N_ITEMS, n, replace=False, p=popularity / popularity.sum())):
            kind = rng.choice(["view", "cart", "purchase"], p=[0.7, 0.2, 0.1])
            rows.append((f"u{u}", f"p{i}", kind, 1_700_000_000 + 3600 * (u * 50 + k)))
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "type", "timestamp"])
    return Dataset.from_frame(events, items=items)


@pytest.fixture(scope="module")
def hybrid(shop: Dataset) -> Hybrid:
    components = {n: c for n, c in CONFIGS.items() if n != "trending"}
    return Hybrid({"components": components, "weights": WEIGHTS}, RT).fit(shop)


def _rows(shop: Dataset) -> list[sp.csr_matrix]:
    """Training rows of some users, each plus one new item (a fold-in row), and a 3-item session."""
    x = sp.csr_matrix(shop.matrix(), dtype=np.float32)
    rng = np.random.default_rng(5)
    out = []
    for u in rng.choice(N_USERS, 25, replace=False):
        extra = sp.csr_matrix(
            ([3.0], ([0], [int(rng.integers(N_ITEMS))])), shape=(1, N_ITEMS), dtype=np.float32
        )
        out.append(sp.csr_matrix(x[u] + extra, dtype=np.float32))
    out.append(
        sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 0, 0], [4, 200, 299])), shape=(1, N_ITEMS), dtype=np.float32)
    )
    return out


def _dense(values: np.ndarray, support: np.ndarray | None, n: int) -> np.ndarray:
    if support is None:
        return np.asarray(values, dtype=np.float64)
    out = np.full(n, -np.inf)
    out[support] = values
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_score_row_equals_score_history_exactly(name: str, shop: Dataset) -> None:
    model = make_algorithm(name, CONFIGS[name], RT).fit(shop)
    for row in _rows(shop):
        values, support = model.score_row(row.indices, row.data)
        if name == "ease":
            assert support is not None and len(support) == 120
        np.testing.assert_array_equal(_dense(values, support, N_ITEMS), model.score_history(row)[0])


def test_ease_row_blocks_and_weighted_rows_keep_the_sums(shop: Dataset, monkeypatch) -> None:
    import shopmind.recommend.ease as ease_module

    monkeypatch.setattr(ease_module, "ROW_BLOCK", 3)  # many block boundaries inside one history
    for cfg in ({"top_items": 120}, {"top_items": 120, "binary": False}):
        model = make_algorithm("ease", cfg, RT).fit(shop)
        for row in _rows(shop):
            values, support = model.score_row(row.indices, row.data)
            np.testing.assert_array_equal(_dense(values, support, N_ITEMS), model.score_history(row)[0])


def test_item_knn_normalised_and_hybrid_rank_use_the_same_arithmetic(shop: Dataset, hybrid: Hybrid) -> None:
    knn = make_algorithm("item_knn", {"k": 30, "normalize": True}, RT).fit(shop)
    ranked = Hybrid({"components": hybrid.config.components, "weights": WEIGHTS, "normalization": "rank"}, RT)
    ranked.models, ranked.weights = hybrid.models, hybrid.weights
    ranked.n_users, ranked.n_items, ranked._fitted = hybrid.n_users, hybrid.n_items, True
    for row in _rows(shop)[:8]:
        np.testing.assert_array_equal(knn.score_row(row.indices, row.data)[0], knn.score_history(row)[0])
        total, _ = ranked.score_row_parts(row.indices, row.data)
        np.testing.assert_array_equal(total, ranked.score_parts(rows=row)[0])


def test_hybrid_row_blend_and_parts_equal_score_parts(shop: Dataset, hybrid: Hybrid) -> None:
    for row in [*_rows(shop), sp.csr_matrix((1, N_ITEMS), dtype=np.float32)]:  # last: empty → cascade
        total, parts = hybrid.score_row_parts(row.indices, row.data)
        want_total, want_parts = hybrid.score_parts(rows=row)
        np.testing.assert_array_equal(total, want_total)
        assert list(parts) == list(want_parts)
        cols = np.arange(N_ITEMS)
        for n in parts:
            np.testing.assert_array_equal(parts[n].at(0, cols), want_parts[n].at(0, cols))
            np.testing.assert_array_equal(parts[n].dense(), want_parts[n].dense())


def test_one_row_minmax_shortcut_equals_the_batch_statistics() -> None:
    rng = np.random.default_rng(8)
    s = rng.standard_normal((6, 50)).astype(np.float32)
    s[2] = 1.5  # constant row: inv 0
    s[3, :10] = -np.inf  # masked path
    lo, inv, _ = minmax_stats(s)
    for r in range(len(s)):
        one_lo, one_inv, _ = minmax_stats(s[r])
        np.testing.assert_array_equal(one_lo[0], lo[r])
        np.testing.assert_array_equal(one_inv[0], inv[r])


def test_als_fold_in_solves_implicits_equation(shop: Dataset) -> None:
    """Known answer: implicit's own ``recalculate_user`` (float32 Cholesky) on the same factors."""
    from implicit.cpu.als import AlternatingLeastSquares

    als = make_algorithm("als", CONFIGS["als"], RT).fit(shop)
    cfg = als.config
    ref = AlternatingLeastSquares(
        factors=cfg.factors, regularization=cfg.regularization, alpha=cfg.alpha, num_threads=1
    )
    ref.item_factors, ref.user_factors = als.item_factors, als.user_factors
    rows = sp.vstack(_rows(shop)).tocsr()
    want = ref.recalculate_user(np.arange(rows.shape[0]), rows)
    got = als.fold_in(rows)
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-4)
    assert np.abs(got).max() > 0.1  # a real solution, not zeros


def test_als_fold_in_batch_equals_single(shop: Dataset) -> None:
    als = make_algorithm("als", CONFIGS["als"], RT).fit(shop)
    rows = sp.vstack(_rows(shop)).tocsr()
    batch = als.score_history(rows)
    for r in range(rows.shape[0]):
        np.testing.assert_allclose(als.score_history(rows[r])[0], batch[r], rtol=1e-9, atol=1e-12)


def test_top_k_equals_a_full_sort() -> None:
    """Block-maximum bound + candidate sort = sorting every entry by (−score, index)."""
    rng = np.random.default_rng(2)
    for trial in range(400):
        n, m, k = int(rng.integers(1, 5)), int(rng.integers(1, 600)), int(rng.integers(1, 90))
        s = rng.random((n, m))
        if trial % 3 == 1:
            s = np.round(s * 4) / 4  # heavy ties
        if trial % 3 == 2:
            s[rng.random((n, m)) < 0.8] = -np.inf
        if trial % 7 == 3:
            s[:, : int(rng.integers(0, m + 1))] = np.nan  # NaN (even whole blocks) is never returned
        allowed = rng.random(m) > 0.3 if trial % 2 else None
        exclude = sp.csr_matrix(rng.random((n, m)) < 0.1)
        idx, sc = top_k(s, k, exclude, allowed)
        masked = np.where(np.isnan(s), -np.inf, s)
        if allowed is not None:
            masked[:, ~allowed] = -np.inf
        masked[exclude.toarray()] = -np.inf
        kk = min(k, m)
        _assert_full_sort(idx, sc, masked, kk)
    # massive ties (rows of equal scores beside ordinary rows) take the row-by-row branch
    s = rng.random((4, 9000))
    s[1], s[3, :5000] = 0.0, 1.0
    idx, sc = top_k(s, 50)
    _assert_full_sort(idx, sc, s, 50)


def _assert_full_sort(idx: np.ndarray, sc: np.ndarray, masked: np.ndarray, k: int) -> None:
    for r in range(masked.shape[0]):
        order = np.lexsort((np.arange(masked.shape[1]), -masked[r]))[:k]
        want_sc = masked[r, order]
        np.testing.assert_array_equal(sc[r], want_sc)
        np.testing.assert_array_equal(idx[r], np.where(np.isfinite(want_sc), order, -1))


def test_item_knn_similarity_block_equals_the_sparse_lookup(shop: Dataset) -> None:
    knn = make_algorithm("item_knn", {"k": 30}, RT).fit(shop)
    rng = np.random.default_rng(4)
    sources, targets = rng.choice(N_ITEMS, 40), rng.choice(N_ITEMS, 12)
    want = knn.similarity_matrix[sources][:, targets].toarray()
    np.testing.assert_array_equal(knn.similarity_block(sources, targets), want)
    assert knn.similarity_block(np.array([], dtype=np.int64), targets).shape == (0, 12)


def _service(shop: Dataset, hybrid: Hybrid) -> RecommendService:
    buys = shop.event_type == 2
    together = BoughtTogether(min_support=1).fit(
        shop.user_idx[buys].astype(str), shop.item_idx[buys], N_ITEMS
    )
    models = {"hybrid": hybrid, **hybrid.models, "trending": Trending(runtime=RT).fit(shop)}
    return RecommendService(
        shop.users,
        shop.items,
        shop.matrix(),
        strongest_events(shop),
        Catalog.from_table(shop.item_table),
        models,
        "hybrid",
        together,
        shop.weights,
    )


def test_fold_in_and_session_answers_equal_full_scoring(shop: Dataset, hybrid: Hybrid) -> None:
    """The service's fast path vs the same requests scored by ``score_parts(rows=...)`` (the plain path)."""
    from datetime import UTC, datetime

    from shopmind.data.schema import Event

    fast = _service(shop, hybrid)
    plain = _service(shop, hybrid)
    reference = Hybrid(hybrid.config, RT)
    reference.models, reference.weights = hybrid.models, hybrid.weights
    reference.n_users, reference.n_items, reference._fitted = hybrid.n_users, hybrid.n_items, True

    def full(items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, dict]:
        row = sp.csr_matrix((weights, items, [0, len(items)]), shape=(1, N_ITEMS), dtype=np.float32)
        return reference.score_parts(rows=row)

    reference.score_row_parts = full  # type: ignore[method-assign]
    plain.models = {**plain.models, "hybrid": reference}
    now = datetime(2024, 1, 1, tzinfo=UTC)
    users = [f"u{u}" for u in range(0, N_USERS, 6)]
    for svc in (fast, plain):
        svc.observe(
            Event(id=f"n{k}", user_id=u, item_id=f"p{(7 * k) % N_ITEMS}", type="cart", timestamp=now)
            for k, u in enumerate(users)
        )
    filters = [RecFilters(), RecFilters(in_stock=True, max_price=50.0), RecFilters(exclude_purchased=True)]
    requests = [(u, None) for u in users] + [
        (f"new{k}", [f"p{k}", f"p{k + 40}", f"p{k + 250}"]) for k in range(8)
    ]
    paths = set()
    for user, session in requests:
        for f in filters:
            got = fast.recommend(user, k=10, filters=f, session_items=session)
            want = plain.recommend(user, k=10, filters=f, session_items=session)
            assert [(r.item_id, r.score, r.reason, r.explanation) for r in got.items] == [
                (r.item_id, r.score, r.reason, r.explanation) for r in want.items
            ]
            paths |= {r.explanation["path"] for r in got.items}
    assert {"fold_in", "session"} <= paths
