"""Known answers and properties of the ranking and beyond-accuracy metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from shopmind.errors import DataError
from shopmind.recommend.metrics import (
    activity_groups,
    beyond_accuracy,
    gini,
    group_metrics,
    hit_matrix,
    per_user_metrics,
    summarize,
)


def truth_of(lists: list[list[int]], n_cols: int) -> sp.csr_matrix:
    rows = [r for r, items in enumerate(lists) for _ in items]
    cols = [i for items in lists for i in items]
    return sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(lists), n_cols))


def test_known_answer_single_user():
    # recommended 5 items, relevant = {1, 3, 9}; hits at ranks 2 and 4; item 9 not ranked.
    recs = np.array([[0, 1, 2, 3, 4]])
    m = per_user_metrics(recs, truth_of([[1, 3, 9]], 10), k=5)
    assert m["precision"][0] == pytest.approx(2 / 5)
    assert m["recall"][0] == pytest.approx(2 / 3)
    assert m["f1"][0] == pytest.approx(2 * 0.4 * (2 / 3) / (0.4 + 2 / 3))
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg"][0] == pytest.approx(dcg / idcg)
    # MS MAP: (1/2 + 2/4) / |test_u| = 1 / 3
    assert m["map"][0] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert m["mrr"][0] == pytest.approx(1 / 2)
    assert m["hr"][0] == 1.0


def test_ideal_dcg_uses_min_of_relevant_and_k():
    recs = np.array([[5, 6, 7]])
    m = per_user_metrics(recs, truth_of([[5, 6, 7, 8, 9]], 10), k=3)
    assert m["ndcg"][0] == pytest.approx(1.0)
    assert m["map"][0] == pytest.approx(3 / 5)  # divided by |test_u| = 5, not min(5, k)


def test_padding_is_never_a_hit_and_precision_divides_by_k():
    recs = np.array([[2, -1, -1], [-1, -1, -1]])
    m = per_user_metrics(recs, truth_of([[2], [0]], 4), k=3)
    assert m["precision"].tolist() == pytest.approx([1 / 3, 0.0])
    assert m["ndcg"].tolist() == pytest.approx([1.0, 0.0])
    assert m["mrr"].tolist() == [1.0, 0.0]


def test_summary_names():
    recs = np.array([[0, 1]])
    s = summarize(per_user_metrics(recs, truth_of([[1]], 3), k=2), 2)
    assert set(s) == {"precision@2", "recall@2", "f1@2", "ndcg@2", "map", "mrr@2", "hr@2"}
    assert s["mrr@2"] == 0.5


def test_shape_errors():
    with pytest.raises(DataError):
        hit_matrix(np.array([[0, 1]]), truth_of([[1], [0]], 3))
    with pytest.raises(DataError):
        hit_matrix(np.array([[7]]), truth_of([[1]], 3))


def test_gini_and_beyond_accuracy_known_answers():
    assert gini(np.array([1, 1, 1, 1])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(3 / 4)
    counts = np.array([8, 4, 2, 1])  # training users per item, 8 users
    recs = np.array([[0, 1], [0, 2]])
    b = beyond_accuracy(recs, counts, n_train_users=8)
    assert b["coverage"] == pytest.approx(3 / 4)
    assert b["novelty"] == pytest.approx(np.mean([0, 1, 0, 2]))  # −log2(8/8), −log2(4/8), …
    assert b["arp"] == pytest.approx(np.mean([8, 4, 8, 2]))
    assert b["gini"] == pytest.approx(gini(np.array([2, 1, 1, 0])))


def test_groups():
    recs = np.array([[0], [1], [2]])
    per_user = per_user_metrics(recs, truth_of([[0], [0], [2]], 3), k=1)
    g = group_metrics(per_user, np.array(["F", "M", "M"]), 1)
    assert g["F"]["precision@1"] == 1.0 and g["F"]["users"] == 1
    assert g["M"]["precision@1"] == pytest.approx(0.5) and g["M"]["users"] == 2
    labels = activity_groups(np.array([1, 2, 3, 10, 20, 30]))
    assert labels.tolist() == ["low", "low", "medium", "medium", "high", "high"]


@st.composite
def ranking_case(draw):
    n_items = draw(st.integers(3, 30))
    n_users = draw(st.integers(1, 6))
    k = draw(st.integers(1, n_items))
    recs = np.stack([np.array(draw(st.permutations(range(n_items))))[:k] for _ in range(n_users)])
    lists = [
        draw(st.lists(st.integers(0, n_items - 1), min_size=1, max_size=n_items, unique=True))
        for _ in range(n_users)
    ]
    return recs, lists, n_items, k


def naive(recs_row, relevant, k):
    hits = [1 if i in relevant else 0 for i in recs_row[:k]]
    p = sum(hits) / k
    r = sum(hits) / len(relevant)
    dcg = sum(h / math.log2(j + 2) for j, h in enumerate(hits))
    idcg = sum(1 / math.log2(j + 2) for j in range(min(len(relevant), k)))
    ap, seen = 0.0, 0
    for j, h in enumerate(hits):
        if h:
            seen += 1
            ap += seen / (j + 1)
    return p, r, dcg / idcg, ap / len(relevant)


@settings(max_examples=60, deadline=None)
@given(ranking_case())
def test_matches_naive_loop_and_bounds(case):
    recs, lists, n_items, k = case
    m = per_user_metrics(recs, truth_of(lists, n_items), k=k)
    for u, rel in enumerate(lists):
        p, r, n, ap = naive(list(recs[u]), set(rel), k)
        assert m["precision"][u] == pytest.approx(p)
        assert m["recall"][u] == pytest.approx(r)
        assert m["ndcg"][u] == pytest.approx(n)
        assert m["map"][u] == pytest.approx(ap)
    for name in ("precision", "recall", "f1", "ndcg", "map", "mrr", "hr"):
        assert ((m[name] >= 0) & (m[name] <= 1 + 1e-12)).all()
    assert (m["map"] <= m["recall"] + 1e-12).all()


@settings(max_examples=40, deadline=None)
@given(ranking_case())
def test_perfect_ranking_has_ndcg_one(case):
    _, lists, n_items, k = case
    # put every relevant item first, then the rest
    recs = np.stack(
        [np.array(sorted(range(n_items), key=lambda i: (i not in set(rel), i)))[:k] for rel in lists]
    )
    m = per_user_metrics(recs, truth_of(lists, n_items), k=k)
    assert np.allclose(m["ndcg"], 1.0)
    assert np.allclose(m["hr"], 1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=40))
def test_gini_bounds_and_permutation_invariance(values):
    x = np.array(values)
    g = gini(x)
    assert 0.0 <= g <= 1.0
    assert gini(x[::-1]) == pytest.approx(g)
