"""Known answers for ``ease_context_fused`` (z-score fusion of ContextEASE with other models)."""

from __future__ import annotations

import numpy as np
import pytest
from recfixtures import late_item_frame

from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError
from shopmind.recommend import make_algorithm
from shopmind.recommend.base import UNSCORED, Runtime, zscore_unseen
from shopmind.recommend.ease_context import UNAVAILABLE

RT = Runtime(seed=1, threads=1)
CTX = {"l2": 1.0, "sequence_weight": 0.0, "low_pass_rank": 0}
KNN = {"k": 20}
ALS = {"factors": 4, "iterations": 20, "regularization": 0.1}


def _z(s: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Reference z-score over the unseen, finite entries, written with NaN statistics."""
    free = np.where(seen | ~np.isfinite(s), np.nan, s)
    return (s - np.nanmean(free, 1, keepdims=True)) / np.nanstd(free, 1, keepdims=True)


def test_scores_are_the_weighted_sum_of_z_scores(block_dataset: Dataset) -> None:
    cfg = {"context": {**CTX, "availability_mask": False}, "components": {"item_knn": KNN, "als": ALS}}
    m = make_algorithm("ease_context_fused", {**cfg, "weights": {"item_knn": 0.7, "als": 0.3}}, RT)
    m.fit(block_dataset)
    users = np.arange(block_dataset.n_users)
    seen = block_dataset.seen.toarray() > 0
    ctx = make_algorithm("ease_context", cfg["context"], RT).fit(block_dataset).score_users(users)
    knn = make_algorithm("item_knn", KNN, RT).fit(block_dataset).score_users(users)
    als = make_algorithm("als", ALS, RT).fit(block_dataset).score_users(users)
    want = _z(ctx, seen) + 0.7 * _z(knn, seen) + 0.3 * _z(als, seen)
    got = m.score_users(users)
    scored = ~seen & np.isfinite(ctx)
    assert scored.sum() > 3 * block_dataset.n_users  # the check covers most of the unseen items
    np.testing.assert_allclose(got[scored], want[scored], rtol=1e-5, atol=1e-6)
    assert np.all(got[~seen & ~np.isfinite(ctx)] < UNSCORED / 2)  # items EASE cannot score rank last


def test_zero_weights_rank_like_ease_context(block_dataset: Dataset) -> None:
    cfg = {"context": CTX, "components": {"item_knn": KNN}, "weights": {"item_knn": 0.0}}
    m = make_algorithm("ease_context_fused", cfg, RT).fit(block_dataset)
    ref = make_algorithm("ease_context", CTX, RT).fit(block_dataset)
    users = np.arange(block_dataset.n_users)
    got = m.recommend_indices(users, 5, exclude=block_dataset.seen)[0]
    want = ref.recommend_indices(users, 5, exclude=block_dataset.seen)[0]
    np.testing.assert_array_equal(got, want)


def _late_item_dataset() -> Dataset:
    return Dataset.from_frame(late_item_frame())


@pytest.mark.parametrize("mask", [False, True])
def test_availability_mask_is_applied_after_fusion(mask: bool) -> None:
    ds = _late_item_dataset()
    cfg = {
        "context": {**CTX, "l2": 0.5, "activity_weight": 0.0, "availability_mask": mask},
        "components": {"item_knn": KNN},
        "weights": {"item_knn": 2.0},
    }
    m = make_algorithm("ease_context_fused", cfg, RT).fit(ds)
    u0, c, d = ds.users.index_of("u0"), ds.items.index_of("c"), ds.items.index_of("d")
    scores = m.score_users(np.array([u0]))[0]
    assert (scores[c] < scores[d]) == mask
    if mask:
        assert scores[c] < -UNAVAILABLE / 2


def test_unscoreable_items_rank_last_and_are_left_out_of_the_statistics() -> None:
    s = np.array([[1.0, 2.0, 3.0, -np.inf, 100.0]])
    seen = np.array([[False, False, False, False, True]])
    z = zscore_unseen(s, seen)
    np.testing.assert_allclose(z[0, :3], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)])
    assert z[0, 3] == UNSCORED
    assert np.all(zscore_unseen(np.array([[2.0, 2.0, 2.0]]), np.zeros((1, 3), dtype=bool)) == 0.0)


@pytest.mark.parametrize(
    "cfg",
    [
        {"components": {"item_knn": {}}, "weights": {"bpr": 1.0}},
        {"components": {"item_knn": {}}, "weights": {"item_knn": -0.5}},
        {"components": {"hybrid": {}}, "weights": {"hybrid": 1.0}},
    ],
)
def test_bad_configs_are_rejected(cfg: dict) -> None:
    with pytest.raises(ConfigError):
        make_algorithm("ease_context_fused", cfg, RT)
