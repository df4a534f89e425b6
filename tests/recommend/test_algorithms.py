"""Known-answer tests per algorithm: formulas checked against hand computations / direct numpy."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopmind.data.dataset import Dataset
from shopmind.errors import CapacityError
from shopmind.recommend import make_algorithm
from shopmind.recommend.base import Runtime
from shopmind.recommend.hybrid import Part, mean_ndcg, minmax_stats, normalise
from shopmind.recommend.knn import item_similarity
from shopmind.recommend.sar import similarity_from_cooccurrence

RT = Runtime(seed=1, threads=1)


def ratings_dataset(table: dict[str, list[float | None]]) -> Dataset:
    rows = [(u, f"i{j}", v) for u, r in table.items() for j, v in enumerate(r) if v is not None]
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    df["timestamp"] = np.arange(len(df))
    return Dataset.from_frame(df)


# Jannach, Zanker, Felfernig & Friedrich, "Recommender Systems: An Introduction" (2011), §2.1,
# Table 2.1: Alice's neighbours and the prediction for Item5.
ALICE = {
    "alice": [5, 3, 4, 4, None],
    "user1": [3, 1, 2, 3, 3],
    "user2": [4, 3, 4, 3, 5],
    "user3": [3, 3, 1, 5, 4],
    "user4": [1, 5, 5, 2, 1],
}


def test_user_pearson_matches_the_textbook_example() -> None:
    ds = ratings_dataset(ALICE)
    m = make_algorithm("user_knn", {"k": 2, "shrinkage": 0, "min_overlap": 1, "min_sim": -1}, RT).fit(ds)
    a = ds.users.index_of("alice")
    sims = [m.similarity(a, ds.users.index_of(u)) for u in ("user1", "user2", "user3", "user4")]
    # book values: 0.85, 0.70, 0.00, -0.79 (rounded there; exact: 2/sqrt(5.5), 1/sqrt(2), 0, -4/sqrt(25.5))
    np.testing.assert_allclose(sims, [2 / np.sqrt(5.5), 1 / np.sqrt(2), 0.0, -4 / np.sqrt(25.5)], atol=1e-9)
    # pred = r̄_a + Σ sim (r_v5 − r̄_v) / Σ|sim| over the 2 nearest raters (user1, user2); book: 4.87
    s1, s2 = 2 / np.sqrt(5.5), 1 / np.sqrt(2)
    expected = 4 + (s1 * (3 - 2.4) + s2 * (5 - 3.8)) / (s1 + s2)
    got = m.predict(a, ds.items.index_of("i4"))[0]
    assert got == pytest.approx(expected, abs=1e-9)
    assert round(got, 2) == 4.87


def _pearson_loop(r: np.ndarray, u: int, v: int) -> tuple[float, int]:
    both = (r[u] > 0) & (r[v] > 0)
    n = int(both.sum())
    if n == 0:
        return 0.0, 0
    x, y = r[u, both] - r[u, both].mean(), r[v, both] - r[v, both].mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return (float((x * y).sum() / den) if den > 1e-12 else 0.0), n


def test_user_pearson_vectorised_equals_direct_loops() -> None:
    rng = np.random.default_rng(3)
    r = rng.integers(1, 6, size=(15, 12)).astype(float) * (rng.random((15, 12)) < 0.5)
    table = {f"u{u}": [v if v > 0 else None for v in row] for u, row in enumerate(r)}
    ds = ratings_dataset(table)
    lam, min_overlap = 5.0, 2
    m = make_algorithm(
        "user_knn",
        {"k": 20, "candidates": 20, "shrinkage": lam, "min_overlap": min_overlap, "min_sim": -2},
        RT,
    ).fit(ds)
    dense = ds.ratings().toarray().astype(np.float64)
    for u in range(ds.n_users):
        for v in range(ds.n_users):
            if u == v:
                continue
            sim, n = _pearson_loop(dense, u, v)
            expected = sim * n / (n + lam) if n >= min_overlap else 0.0
            assert m.similarity(u, v) == pytest.approx(expected, abs=1e-9)


def test_item_similarities_equal_dense_formulas() -> None:
    rng = np.random.default_rng(5)
    r = rng.integers(1, 6, size=(20, 9)).astype(float) * (rng.random((20, 9)) < 0.6)
    x = sp.csr_matrix(r)
    s = item_similarity(x, k=100, min_sim=-2).toarray()
    norms = np.linalg.norm(r, axis=0)
    cos = (r.T @ r) / np.outer(norms, norms)
    np.fill_diagonal(cos, 0.0)
    np.testing.assert_allclose(s, cos, atol=1e-12)
    # top-k pruning keeps, per target column, its k most similar items
    pruned = item_similarity(x, k=2, min_sim=-2).toarray()
    assert ((pruned != 0).sum(axis=0) <= 2).all()
    for i in range(9):
        kept = np.flatnonzero(pruned[:, i])
        assert set(kept) == set(np.argsort(-cos[:, i])[:2])
    # adjusted cosine = cosine of user-mean-centred ratings
    table = {f"u{u}": [v if v > 0 else None for v in row] for u, row in enumerate(r)}
    ds = ratings_dataset(table)
    m = make_algorithm("item_knn", {"similarity": "adjusted_cosine", "k": 100, "min_sim": -2}, RT).fit(ds)
    rr = ds.ratings().toarray().astype(np.float64)
    mask = rr > 0
    means = rr.sum(1) / np.maximum(mask.sum(1), 1)
    z = np.where(mask, rr - means[:, None], 0.0)
    zn = np.linalg.norm(z, axis=0)
    adj = (z.T @ z) / np.outer(zn, zn)
    np.fill_diagonal(adj, 0.0)
    np.testing.assert_allclose(m.similarity_matrix.toarray(), adj, atol=1e-9)


def test_ease_equals_direct_numpy_inverse(block_dataset) -> None:
    lam = 3.0
    m = make_algorithm("ease", {"l2": lam}, RT).fit(block_dataset)
    x = block_dataset.seen.toarray()
    active = np.flatnonzero(x.sum(0) > 0)
    xa = x[:, active]
    p = np.linalg.inv(xa.T @ xa + lam * np.eye(len(active)))
    b = np.eye(len(active)) - p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(m.weights, b, atol=1e-5)
    scores = m.score_users(np.arange(block_dataset.n_users))
    np.testing.assert_allclose(scores[:, active], xa @ b, atol=1e-5)
    assert np.isneginf(scores[:, 10]).all()  # item 10 has no interactions: EASE cannot score it


def test_ease_refuses_beyond_capacity_and_restricts_to_top_items(block_dataset) -> None:
    with pytest.raises(CapacityError) as err:
        make_algorithm("ease", {"max_items": 5}, RT).fit(block_dataset)
    assert "top_items" in str(err.value)
    m = make_algorithm("ease", {"max_items": 5, "top_items": 5}, RT).fit(block_dataset)
    assert len(m.active) == 5
    counts = block_dataset.item_counts()
    assert counts[m.active].min() >= np.sort(counts)[-5]


def test_sar_jaccard_against_hand_counts() -> None:
    # baskets: u0 {a, b}, u1 {a, b, c}, u2 {b, c}; C_aa=2, C_bb=3, C_cc=2, C_ab=2, C_ac=1, C_bc=2
    df = pd.DataFrame(
        [("u0", "a"), ("u0", "b"), ("u1", "a"), ("u1", "b"), ("u1", "c"), ("u2", "b"), ("u2", "c")],
        columns=["user_id", "item_id"],
    )
    df["rating"], df["timestamp"] = 1.0, 0
    ds = Dataset.from_frame(df)
    m = make_algorithm("sar", {"time_decay_days": None}, RT).fit(ds)
    a, b, c = (ds.items.index_of(i) for i in "abc")
    s = m.similarity_matrix.toarray()
    assert s[a, b] == pytest.approx(2 / (2 + 3 - 2))
    assert s[a, c] == pytest.approx(1 / (2 + 2 - 1))
    assert s[b, c] == pytest.approx(2 / (3 + 2 - 2))
    assert s[a, a] == pytest.approx(1.0)
    lift = similarity_from_cooccurrence(m.cooccurrence, "lift").toarray()
    assert lift[a, b] == pytest.approx(2 / (2 * 3))
    # u0 (affinity 1 for a and b) → score(c) = S_ac + S_bc
    assert m.score_users(np.array([ds.users.index_of("u0")]))[0, c] == pytest.approx(1 / 3 + 2 / 3)


def test_sar_refuses_beyond_its_cooccurrence_budget() -> None:
    # Σ_u |I_u|² = 2² + 3² + 2² = 17 products bound nnz(BᵀB)
    df = pd.DataFrame(
        [("u0", "a"), ("u0", "b"), ("u1", "a"), ("u1", "b"), ("u1", "c"), ("u2", "b"), ("u2", "c")],
        columns=["user_id", "item_id"],
    )
    df["rating"], df["timestamp"] = 1.0, 0
    ds = Dataset.from_frame(df)
    make_algorithm("sar", {"max_pairs": 17}, RT).fit(ds)
    with pytest.raises(CapacityError, match=r"max_pairs=1\.60e"):
        make_algorithm("sar", {"max_pairs": 16}, RT).fit(ds)


def test_sar_time_decay_halves_affinity_per_half_life() -> None:
    day = 86_400
    df = pd.DataFrame(
        {
            "user_id": ["u", "u", "v"],
            "item_id": ["a", "b", "a"],
            "rating": [4.0, 4.0, 2.0],
            "timestamp": [0, 30 * day, 30 * day],
        }
    )
    m = make_algorithm("sar", {"time_decay_days": 30}, RT).fit(Dataset.from_frame(df))
    aff = m.affinity.toarray()
    assert aff[0, 0] == pytest.approx(2.0)  # rating 4, one half-life old
    assert aff[0, 1] == pytest.approx(4.0)  # at t_now


def test_trending_decays_and_popularity_counts() -> None:
    day = 86_400
    df = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u1"],
            "item_id": ["old", "old", "old", "new"],
            "type": ["view"] * 4,
            "timestamp": [0, 0, 0, 28 * day],
        }
    )
    ds = Dataset.from_frame(df)
    pop = make_algorithm("popularity").fit(ds)
    tr = make_algorithm("trending", {"half_life_days": 7}).fit(ds)
    old, new = ds.items.index_of("old"), ds.items.index_of("new")
    assert pop.item_scores[old] == 3 and pop.item_scores[new] == 1
    assert tr.item_scores[old] == pytest.approx(3 * 0.5**4)
    assert tr.item_scores[new] == pytest.approx(1.0)
    assert tr.top(1)[0][0] == new


def test_content_serves_new_items_with_tfidf_and_chinese(block_dataset) -> None:
    m = make_algorithm("content", {}, RT).fit(block_dataset)
    sim = m.similar_scores(np.array([10]))[0]  # item 10: nobody touched it
    assert set(np.argsort(-sim)[:5]) <= set(range(5))
    df = pd.DataFrame({"user_id": ["u1", "u1"], "item_id": ["p1", "p2"], "timestamp": [0, 1]})
    items = pd.DataFrame(
        {
            "id": ["p1", "p2", "p3", "p4"],
            "title": ["苹果手机 iPhone 保护壳", "华为手机壳 透明", "不锈钢保温杯", "手机壳 防摔 iPhone"],
        }
    )
    ds = Dataset.from_frame(df, items=items)
    zh = make_algorithm("content", {}, RT).fit(ds)
    assert "手机" in zh.terms or "手机壳" in zh.terms
    scores = zh.score_users(np.array([0]))[0]
    assert scores[ds.items.index_of("p4")] > scores[ds.items.index_of("p3")]


def test_hybrid_normalisation_and_ndcg() -> None:
    s = np.array([[1.0, 3.0, -np.inf, 2.0]])
    np.testing.assert_allclose(normalise(s), [[0.0, 1.0, 0.0, 0.5]])
    np.testing.assert_allclose(normalise(s, "rank"), [[0.5, 1.0, 0.0, 0.75]])
    truth = sp.csr_matrix(np.array([[0, 1, 0, 1.0]]))
    # hits at ranks 1 and 3 of 2 relevant: (1 + 1/log2(4)) / (1 + 1/log2(3))
    assert mean_ndcg(np.array([[1, 0, 3]]), truth) == pytest.approx((1 + 0.5) / (1 + 1 / np.log2(3)))


def test_hybrid_tunes_on_training_data_only(block_dataset) -> None:
    h = make_algorithm("hybrid", {"components": {"popularity": {}, "item_knn": {"k": 20}}}, RT)
    train_mask, truth = h.validation_split(block_dataset)
    assert 0 < (~train_mask).sum() < block_dataset.n_events
    # held-out pairs come from the training events, and are not in the inner training part
    inner = block_dataset.subset(train_mask)
    assert truth.multiply(inner.seen).nnz == 0
    assert truth.multiply(block_dataset.seen).nnz == truth.nnz
    h.fit(block_dataset)
    assert set(h.weights) == {"popularity", "item_knn"} and any(h.weights.values())
    # cascade: an empty history gets the popularity ranking
    empty = sp.csr_matrix((1, block_dataset.n_items), dtype=np.float32)
    np.testing.assert_allclose(h.score_history(empty)[0], normalise(h.models["popularity"].item_scores)[0])


def test_als_fold_in_re_solves_a_training_row_to_the_same_ranking(block_dataset) -> None:
    m = make_algorithm("als", {"factors": 4, "iterations": 20, "regularization": 0.1}, RT).fit(block_dataset)
    x = block_dataset.matrix()
    # training uses conjugate-gradient sweeps and updates items last, so the exact Cholesky re-solve
    # differs slightly from the stored factors, but not in what it recommends
    np.testing.assert_allclose(m.fold_in(x), m.user_factors, atol=0.05)
    folded, _ = m.recommend_history(x, 2)
    trained, _ = m.recommend_indices(np.arange(block_dataset.n_users), 2, exclude=block_dataset.seen)
    np.testing.assert_array_equal(folded, trained)


@pytest.mark.parametrize("name", ["item_knn", "sar", "ease", "als", "content", "hybrid"])
def test_similarity_block_is_the_contribution_used_for_reasons(name: str, block_dataset) -> None:
    cfg = {"ease": {"l2": 1.0}, "als": {"factors": 4, "iterations": 20, "regularization": 0.1}}.get(name)
    if name == "hybrid":
        cfg = {"components": {"item_knn": {}, "content": {}}}
    m = make_algorithm(name, cfg, RT).fit(block_dataset)
    sources, targets = np.array([1, 2, 7]), np.array([0, 3, 5, 9, 10])
    block = m.similarity_block(sources, targets)
    assert block.shape == (3, 5)
    if name in ("item_knn", "sar", "ease"):
        # one history item with weight 1: its row of the block is exactly its contribution to the scores
        for a, src in enumerate(sources):
            row = sp.csr_matrix(([1.0], ([0], [src])), shape=(1, block_dataset.n_items))
            scores = m.score_history(row)[0, targets]
            finite = np.isfinite(scores)
            np.testing.assert_allclose(block[a, finite], scores[finite], atol=1e-6)


def test_content_jieba_option(block_dataset) -> None:
    df = pd.DataFrame({"user_id": ["u1"], "item_id": ["p1"], "timestamp": [0]})
    items = pd.DataFrame({"id": ["p1", "p2"], "title": ["苹果手机保护壳", "不锈钢保温杯"]})
    m = make_algorithm("content", {"chinese": "jieba"}, RT).fit(Dataset.from_frame(df, items=items))
    assert "手机" in m.terms and "机保" not in m.terms  # words, not character bigrams


def test_trending_by_category_on_the_model(block_dataset, tmp_path) -> None:
    tr = make_algorithm("trending", {}, RT).fit(block_dataset)
    idx, sc = tr.trending(3, "home > kitchen")
    assert len(idx) == 3 and set(idx) <= set(range(5, 10))
    assert list(sc) == sorted(sc, reverse=True)
    tr.save(tmp_path / "t")
    again = make_algorithm("trending").load(tmp_path / "t")
    np.testing.assert_array_equal(again.trending(3, "Home")[0], idx)


def test_content_with_the_packaged_sentence_encoder(block_dataset) -> None:
    m = make_algorithm("content", {"representation": "embedding"}, RT).fit(block_dataset)
    assert m.vectors.shape == (block_dataset.n_items, 384)
    idx, _ = m.recommend_indices(np.arange(block_dataset.n_users), 1, exclude=block_dataset.seen)
    sport = set(range(5)) | {10}
    for u in range(block_dataset.n_users):
        assert (idx[u, 0] in sport) == (u < 6)


def test_user_knn_refuses_beyond_its_scale(block_dataset) -> None:
    with pytest.raises(CapacityError, match="user_knn"):
        make_algorithm("user_knn", {"max_users": 5}, RT).fit(block_dataset)


def test_lazy_parts_blend_equals_the_dense_normalised_blend() -> None:
    """The serving blend (``Part``: raw scores + per-row lo/inv) ≡ Σ w_c · normalise(s_c)."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 30))
    a[1, ::3] = -np.inf  # "cannot score" entries (EASE outside its modelled items)
    a[2] = 7.0  # constant row: normalises to 0
    a[3, 5] = np.nan
    b = rng.random((4, 30)) * 100
    for how in ("minmax", "rank"):
        pa, pb = Part.of(a, how), Part.of(b, how)
        np.testing.assert_allclose(pa.dense(), normalise(a, how), rtol=1e-12, atol=1e-12)
        cols = np.array([0, 3, 5, 29])
        for r in range(4):
            np.testing.assert_allclose(pa.at(r, cols), normalise(a, how)[r, cols], atol=1e-12)
        total = np.zeros((4, 30))
        pa.add_to(total, 2.0)
        pb.add_to(total, 0.5)
        np.testing.assert_allclose(total, 2.0 * normalise(a, how) + 0.5 * normalise(b, how), atol=1e-12)
        assert np.isfinite(total).all()
        if how == "minmax":  # the constant row contributes nothing
            np.testing.assert_allclose(total[2], 0.5 * normalise(b)[2], atol=1e-12)
    lo, inv, mask = minmax_stats(b)
    assert mask is None and np.allclose(lo[:, 0], b.min(axis=1))
    np.testing.assert_allclose(inv[:, 0], 1.0 / (b.max(axis=1) - b.min(axis=1)))


def test_hybrid_serving_blend_equals_the_full_dense_blend(block_dataset) -> None:
    comps = {"popularity": {}, "item_knn": {"k": 20}, "ease": {"l2": 1.0, "top_items": 8}, "content": {}}
    h = make_algorithm("hybrid", {"components": comps}, RT).fit(block_dataset)
    users = np.arange(block_dataset.n_users)
    dense = sum(
        w * normalise(h.models[n].score_users(users)) for n, w in h.weights.items() if w
    )  # reference: every component normalised over the whole catalogue, then blended
    total, parts = h.score_parts(user_idx=users)
    np.testing.assert_allclose(total, dense, rtol=1e-9, atol=1e-12)
    for u in users:  # one user at a time gives the same blend and the same lazily normalised parts
        single, sparts = h.score_parts(user_idx=np.array([u]))
        np.testing.assert_array_equal(single[0], total[u])
        for n in parts:
            np.testing.assert_array_equal(sparts[n].at(0, np.arange(5)), parts[n].at(int(u), np.arange(5)))


def test_mean_ndcg_matches_a_per_row_reference() -> None:
    rng = np.random.default_rng(5)
    truth = sp.csr_matrix((rng.random((50, 40)) < 0.08).astype(np.float64))
    idx = np.stack([rng.permutation(40)[:10] for _ in range(50)])
    idx[::7, 8:] = -1  # short rankings are padded with -1
    disc = 1.0 / np.log2(np.arange(2, 12))
    ref = []
    for r in range(50):
        rel = set(truth[r].indices.tolist())
        dcg = sum(disc[p] for p, i in enumerate(idx[r]) if i >= 0 and i in rel)
        idcg = disc[: min(len(rel), 10)].sum()
        ref.append(dcg / idcg if idcg else 0.0)
    assert mean_ndcg(idx, truth) == pytest.approx(float(np.mean(ref)), rel=1e-12)
    assert mean_ndcg(idx, sp.csr_matrix((50, 40))) == 0.0


def test_ease_float32_inverse_matches_float64_and_is_c_ordered(block_dataset) -> None:
    """The shop service's float32 Cholesky inverse ranks like float64; B stays C-contiguous (fast x_u·B)."""
    m64 = make_algorithm("ease", {"l2": 1.0}, RT).fit(block_dataset)
    m32 = make_algorithm("ease", {"l2": 1.0, "precision": "float32"}, RT).fit(block_dataset)
    for m in (m64, m32):
        assert m.weights.dtype == np.float32 and m.weights.flags.c_contiguous
    np.testing.assert_allclose(m32.weights, m64.weights, atol=1e-4)
    users = np.arange(block_dataset.n_users)
    i64, _ = m64.recommend_indices(users, 3, exclude=block_dataset.seen)
    i32, _ = m32.recommend_indices(users, 3, exclude=block_dataset.seen)
    np.testing.assert_array_equal(i32, i64)


def test_item_similarity_blocks_bound_cooccurrences_without_changing_the_result(monkeypatch) -> None:
    """Head items get narrow blocks (bounded memory at 100k items); any blocking gives the same S."""
    from shopmind.recommend import knn

    rng = np.random.default_rng(11)
    pop = 1.0 / np.arange(1, 61)  # long-tail popularity: the first columns co-occur with everything
    x = sp.csr_matrix((rng.random((300, 60)) < 0.5 * pop / pop.max() + 0.02).astype(np.float64))
    blocks = knn._column_blocks(x, max_cols=16, max_pairs=2000)
    assert blocks[0][0] == 0 and blocks[-1][1] == 60
    assert all(a < b and b - a <= 16 for a, b in blocks)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(blocks))
    present = x.copy()
    present.data[:] = 1.0
    bound = np.asarray(present.T @ np.diff(present.indptr)).ravel()  # co-occurrences per column
    assert all(bound[a:b].sum() <= 2000 or b - a == 1 for a, b in blocks)
    widths = [b - a for a, b in blocks]
    assert widths[0] < max(widths)  # head narrow, tail wide
    reference = item_similarity(x, k=5, shrinkage=2.0)
    monkeypatch.setattr(knn, "_column_blocks", lambda v: [(i, i + 1) for i in range(v.shape[1])])
    assert (item_similarity(x, k=5, shrinkage=2.0) != reference).nnz == 0
