"""Known answers for the context EASE (activity-period columns, availability mask, low-pass term)."""

from __future__ import annotations

import numpy as np
import pytest
from recfixtures import DAY, late_item_frame

from shopmind.data.dataset import Dataset
from shopmind.recommend import make_algorithm
from shopmind.recommend.base import Runtime
from shopmind.recommend.ease_context import UNAVAILABLE

RT = Runtime(seed=1, threads=1)


OFF = {"activity_weight": 0.0, "availability_mask": False, "low_pass_rank": 0}
"""Every context term switched off."""


def test_without_context_it_is_the_sequence_aware_ease(block_dataset: Dataset) -> None:
    cfg = {"l2": 2.0, "sequence_weight": 0.5, "sequence_window": 2}
    ease = make_algorithm("ease", cfg, RT).fit(block_dataset)
    ctx = make_algorithm("ease_context", {**cfg, **OFF}, RT).fit(block_dataset)
    users = np.arange(block_dataset.n_users)
    np.testing.assert_allclose(ctx.weights, ease.weights, atol=1e-6)
    np.testing.assert_allclose(ctx.score_users(users), ease.score_users(users), atol=1e-5)


def test_scores_equal_the_joint_closed_form(block_dataset: Dataset) -> None:
    lam, w, days = 2.0, 1.5, 1.0
    m = make_algorithm(
        "ease_context",
        {
            "l2": lam,
            "sequence_weight": 0.0,
            "activity_bin_days": days,
            "activity_weight": w,
            "availability_mask": False,
            "low_pass_rank": 0,
        },
        RT,
    ).fit(block_dataset)
    x = block_dataset.seen.toarray().astype(np.float64)
    active = np.flatnonzero(x.sum(0) > 0)
    ts = block_dataset.timestamp
    period = (ts - ts.min()) // int(days * DAY)
    t = np.zeros((block_dataset.n_users, period.max() + 1))
    t[block_dataset.user_idx, period] = 1.0
    a = np.hstack([x[:, active], w * t])
    p = np.linalg.inv(a.T @ a + lam * np.eye(a.shape[1]))
    b = np.eye(a.shape[1]) - p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    scores = m.score_users(np.arange(block_dataset.n_users))
    np.testing.assert_allclose(scores[:, active], a @ b[:, : len(active)], atol=1e-4)
    # fold-in has no timestamps: the item block only
    np.testing.assert_allclose(
        m.score_history(block_dataset.seen)[:, active],
        x[:, active] @ b[: len(active), : len(active)],
        atol=1e-4,
    )


def _late_item_dataset() -> Dataset:
    return Dataset.from_frame(late_item_frame())


@pytest.mark.parametrize("mask", [False, True])
def test_availability_mask_ranks_late_items_last(mask: bool) -> None:
    ds = _late_item_dataset()
    cfg = {**OFF, "l2": 0.5, "sequence_weight": 0.0, "availability_mask": mask}
    m = make_algorithm("ease_context", cfg, RT).fit(ds)
    u0, c, d = ds.users.index_of("u0"), ds.items.index_of("c"), ds.items.index_of("d")
    scores = m.score_users(np.array([u0]))[0]
    assert (scores[c] < scores[d]) == mask
    top = m.recommend_indices(np.array([u0]), 1, exclude=ds.seen)[0][0]
    assert top[0] == (d if mask else c)
    if mask:
        assert scores[c] < -UNAVAILABLE / 2


def _zscore(s: np.ndarray, seen: np.ndarray) -> np.ndarray:
    free = np.where(seen, np.nan, s)
    return (s - np.nanmean(free, 1, keepdims=True)) / np.nanstd(free, 1, keepdims=True)


@pytest.mark.parametrize(("k", "a"), [(2, 0.0), (2, 0.5)])
def test_low_pass_term_is_the_fused_spectral_filter(block_dataset: Dataset, k: int, a: float) -> None:
    """z(EASE) + ω·z(X·D^(−1/2)·V·Vᵀ·D^(a)), V = top-k eigenvectors of D^(−1/2)·H·D^(−1/2), written out
    with numpy; H = XᵀWX + γ·C_w (here γ = 0, β = 0.5). The block fixture's normalised graph has the
    eigenvalues 1, 1, 0.1, 0.1, 0.05…: k = 2 fixes the subspace and gives every user a non-constant term."""
    lam, omega = 2.0, 0.7
    base = {**OFF, "l2": lam, "sequence_weight": 0.0, "user_weight_exponent": 0.5}
    plain = make_algorithm("ease_context", base, RT).fit(block_dataset)
    cfg = {**base, "low_pass_rank": k, "low_pass_weight": omega, "low_pass_exponent": a}
    m = make_algorithm("ease_context", cfg, RT).fit(block_dataset)
    x = block_dataset.seen.toarray().astype(np.float64)
    active = np.flatnonzero(x.sum(0) > 0)
    xa = x[:, active]
    n_u = xa.sum(1)
    h = (xa * ((n_u / n_u.mean()) ** -0.5)[:, None]).T @ xa
    d = h.sum(1)
    _, vecs = np.linalg.eigh(h / np.sqrt(np.outer(d, d)))
    v = vecs[:, -k:]
    low = (xa / np.sqrt(d)) @ v @ (v.T * d**a)
    users = np.arange(block_dataset.n_users)
    seen = xa > 0
    want = _zscore(plain.score_users(users)[:, active], seen) + omega * _zscore(low, seen)
    got = m.score_users(users)[:, active]
    np.testing.assert_allclose(np.where(seen, 0, got), np.where(seen, 0, want), atol=1e-4)
    # fold-in keeps the item block only
    np.testing.assert_allclose(m.score_history(block_dataset.seen), plain.score_history(block_dataset.seen))


def test_low_pass_term_survives_save_and_load(block_dataset: Dataset, tmp_path) -> None:
    m = make_algorithm("ease_context", {**OFF, "l2": 1.0, "low_pass_rank": 4}, RT).fit(block_dataset)
    m.save(tmp_path)
    back = type(m).load(tmp_path, RT)
    users = np.arange(block_dataset.n_users)
    np.testing.assert_allclose(back.score_users(users), m.score_users(users))
    assert back.low_pass_in.shape[1] == 4


def test_a_constant_term_adds_nothing() -> None:
    """Rounding noise in a term that is constant over the unseen items must not be blown up."""
    from shopmind.recommend.base import zscore_unseen as _zscore

    seen = np.array([[True, False, False, False]])
    z = _zscore(np.array([[5.0, 1.0, 1.0 + 1e-9, 1.0 - 1e-9]]), seen)
    np.testing.assert_array_equal(z, 0.0)
    z = _zscore(np.array([[5.0, 1.0, 2.0, 3.0]]), seen)
    np.testing.assert_allclose(z[0, 1:], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)])
