"""Sequence co-occurrence, sequence-aware EASE and the stacked LambdaMART re-ranker (known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError
from shopmind.recommend import make_algorithm
from shopmind.recommend.base import Runtime
from shopmind.recommend.hybrid import holdout_split
from shopmind.recommend.seq_cooc import window_cooccurrence
from shopmind.recommend.stacked import Stacked


def _events(seqs: dict[str, list[str]], start: int = 1_700_000_000, step: int = 60) -> pd.DataFrame:
    rows = [(u, i, start + step * p) for u, items in seqs.items() for p, i in enumerate(items)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]).assign(type="view")


def test_window_cooccurrence_hand_example() -> None:
    # u1 sees a, b, c in that order, u2 sees c then a; window 2 with decay 0.5
    ds = Dataset.from_frame(_events({"u1": ["a", "b", "c"], "u2": ["c", "a"]}))
    a, b, c = ds.items.index(np.array(["a", "b", "c"]))
    got = window_cooccurrence(ds, window=2, decay=0.5).toarray()
    expected = np.zeros((3, 3))
    expected[a, b] = expected[b, a] = 1.0  # adjacent in u1
    expected[b, c] = expected[c, b] = 1.0  # adjacent in u1
    expected[a, c] = expected[c, a] = 0.5 + 1.0  # two apart in u1 (0.5), adjacent in u2 (1)
    np.testing.assert_allclose(got, expected)
    only_adjacent = window_cooccurrence(ds, window=1, decay=0.5).toarray()
    assert only_adjacent[a, c] == 1.0  # u2 only


def test_sequence_ease_is_the_closed_form_with_the_window_gram() -> None:
    rng = np.random.default_rng(0)
    seqs = {f"u{u}": list(rng.choice([f"i{j}" for j in range(8)], 5, replace=False)) for u in range(30)}
    ds = Dataset.from_frame(_events(seqs))
    plain = make_algorithm("ease", {"l2": 2.0}, Runtime(threads=1)).fit(ds)
    zero = make_algorithm("ease", {"l2": 2.0, "sequence_weight": 0.0}, Runtime(threads=1)).fit(ds)
    np.testing.assert_array_equal(plain.weights, zero.weights)  # γ = 0 is Steck's EASE
    cfg = {"l2": 2.0, "sequence_weight": 1.5, "sequence_window": 2, "sequence_decay": 0.5}
    model = make_algorithm("ease", cfg, Runtime(threads=1)).fit(ds)
    x = ds.seen.toarray().astype(np.float64)
    g = x.T @ x + 1.5 * window_cooccurrence(ds, 2, 0.5).toarray() + 2.0 * np.eye(ds.n_items)
    p = np.linalg.inv(g)
    b = p / -np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(model.weights, b, rtol=1e-4, atol=1e-6)
    assert not np.allclose(model.weights, plain.weights)


def test_holdout_split_counts_and_truth() -> None:
    seqs = {"u0": ["a", "b", "c", "d", "e", "f", "g", "h"], "u1": ["a", "b"], "u2": ["c", "d", "e"]}
    ds = Dataset.from_frame(_events(seqs))
    _mask, inner, truth = holdout_split(ds, 0.25, "temporal", min_user_events=3, seed=0)
    held = np.diff(truth.indptr)
    u0, u1, u2 = ds.users.index(np.array(["u0", "u1", "u2"]))
    assert held[u0] == 2 and held[u1] == 0 and held[u2] == 1  # max(1, ⌊n·0.25⌋), none below 3 events
    assert inner.n_events == ds.n_events - 3
    last = ds.items.index(np.array(["g", "h"]))  # temporal: u0's latest two
    assert set(truth[u0].indices) == set(last.tolist())
    assert truth.multiply(inner.seen).nnz == 0


def _two_taste_dataset() -> Dataset:
    """Group A users (40) like items a0–a11, group B users (120) items b0–b11: B's items are the most
    popular overall, so popularity recommends them to everyone, while co-occurrence knows better."""
    rng = np.random.default_rng(3)
    seqs = {}
    for u in range(160):
        group = "a" if u < 40 else "b"
        seqs[f"u{u}"] = [f"{group}{j}" for j in rng.choice(12, 8, replace=False)]
    return Dataset.from_frame(_events(seqs))


def test_ranker_learns_which_component_to_trust() -> None:
    ds = _two_taste_dataset()
    cfg = {
        # the backbone (first component) is popularity, which is wrong for group A
        "components": {"popularity": {}, "item_knn": {"k": 20}},
        "candidates": 12,
        "folds": 2,
        "n_estimators": 50,
        "min_child_samples": 5,
        "learning_rate": 0.1,
    }
    model = Stacked(cfg, Runtime(seed=1, threads=1)).fit(ds)
    assert model.booster is not None
    assert model.explainer_name == "item_knn"  # the only component with item similarity
    group_a = ds.users.index(np.array([f"u{u}" for u in range(40)]))
    idx, _ = model.recommend_indices(group_a, 3, exclude=ds.seen)
    names = np.asarray(ds.items.ids)[idx]
    assert np.char.startswith(names.astype(str), "a").mean() > 0.9
    # the popularity backbone alone gets it wrong: the ranker, not the backbone, made the difference
    pop = make_algorithm("popularity").fit(ds)
    pidx, _ = pop.recommend_indices(group_a, 3, exclude=ds.seen)
    pnames = np.asarray(ds.items.ids)[pidx]
    assert np.char.startswith(pnames.astype(str), "a").mean() < 0.5


def test_pooled_items_rank_above_the_rest_and_filters_hold() -> None:
    ds = _two_taste_dataset()
    cfg = {"components": {"item_knn": {"k": 20}}, "candidates": 3, "folds": 1, "n_estimators": 5}
    model = Stacked(cfg, Runtime(seed=1, threads=1)).fit(ds)
    scores = model.score_users(np.array([0]))[0]
    seen = ds.seen[0].toarray()[0] > 0
    knn = model.models["item_knn"].score_users(np.array([0]))[0]
    knn[seen] = -np.inf
    pool = np.argsort(-knn, kind="stable")[:3]
    rest = np.setdiff1d(np.flatnonzero(~seen), pool)
    assert scores[pool].min() > scores[rest].max()
    allowed = np.zeros(ds.n_items, dtype=bool)
    allowed[rest[:2]] = True  # only unpooled items allowed: they are still served
    idx, _ = model.recommend_indices(np.array([0]), 2, exclude=ds.seen, allowed=allowed)
    assert set(idx[0].tolist()) == set(rest[:2].tolist())


@pytest.mark.parametrize(
    "components",
    [{}, {"hybrid": {}}, {"stacked": {}}, {"no_such_model": {}}],
    ids=["empty", "hybrid", "self", "x"],
)
def test_bad_components_are_refused(components: dict) -> None:
    with pytest.raises(ConfigError):
        Stacked({"components": components})


def test_save_load_keeps_the_ranker(tmp_path) -> None:
    ds = _two_taste_dataset()
    cfg = {"components": {"ease": {"l2": 5.0}, "popularity": {}}, "folds": 1, "n_estimators": 10}
    model = Stacked(cfg, Runtime(seed=1, threads=1)).fit(ds)
    model.save(tmp_path / "m")
    loaded = Stacked.load(tmp_path / "m", Runtime(threads=1))
    assert (loaded.booster is None) == (model.booster is None)
    users = np.arange(ds.n_users)
    np.testing.assert_allclose(loaded.score_users(users), model.score_users(users), rtol=1e-6)
    rows = sp.csr_matrix((1, ds.n_items))
    with pytest.raises(NotImplementedError):
        loaded.score_history(rows)
