"""Contract test kit: every algorithm in ``shopmind.recommend.ALGORITHMS`` passes these tests.

Adding an algorithm = a ``@register``-ed class in its own module (``shopmind.recommend.registry``), and,
if the defaults are slow, one line in ``FAST`` below with a tiny config. Known-answer checks use the block dataset of ``conftest``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from recfixtures import GROUP, N_USERS, group_items, missing_item

from shopmind.errors import NotFittedError, UnknownIdError
from shopmind.recommend import ALGORITHMS, NEURAL, get_algorithm
from shopmind.recommend.base import AlgorithmConfig, Recommender, Runtime

FAST: dict[str, dict] = {
    "ease": {"l2": 1.0},
    # block fixture: users arrive one after another, so a missing item is often first rated after the
    # user left — the availability mask would (rightly) hide the known answer
    "ease_context": {"l2": 1.0, "sequence_weight": 0.0, "availability_mask": False},
    "ease_context_fused": {
        "context": {"l2": 1.0, "sequence_weight": 0.0, "availability_mask": False},
        "components": {"item_knn": {"k": 20}, "als": {"factors": 4, "iterations": 20, "regularization": 0.1}},
        "weights": {"item_knn": 0.5, "als": 0.3},
    },
    "item_knn": {"k": 20},
    "user_knn": {"k": 5, "min_overlap": 1, "shrinkage": 0.0, "similarity": "cosine"},
    "als": {"factors": 4, "iterations": 20, "regularization": 0.1},
    "bpr": {"factors": 8, "iterations": 200, "learning_rate": 0.05},
    "hybrid": {"components": {"popularity": {}, "item_knn": {"k": 20}, "ease": {"l2": 1.0}}},
    "stacked": {"components": {"ease": {"l2": 1.0}, "item_knn": {"k": 20}, "popularity": {}}, "folds": 1},
    "neumf": {
        "epochs": 30,
        "factors": 8,
        "mlp_layers": [16, 8],
        "lr": 0.01,
        "batch_size": 32,
        "negatives": 2,
        "weight_decay": 0.001,
    },
    "sasrec": {"epochs": 40, "hidden": 16, "blocks": 1, "lr": 0.01, "batch_size": 4, "dropout": 0.0},
    "seq_hybrid": {
        "components": {
            "sasrec": {"epochs": 5, "hidden": 8, "blocks": 1, "batch_size": 4, "ce_epochs": 1},
            "seq_rules": {},
            "item_knn": {"k": 20},
            "content": {"fields": ["attributes"]},
            "popularity": {},
        },
        "weights": {"sasrec": 0.4, "seq_rules": 0.3, "item_knn": 0.1, "content": 0.15, "popularity": 0.05},
    },
}
"""Small, fast configs for the tiny fixtures (defaults are tuned for real data)."""

NOT_PERSONAL = {"popularity", "trending"}
"""Algorithms that rank the same for every user (no block-structure known answer)."""

APPROXIMATE: set[str] = {"content"}
"""Algorithms checked only for the right *group* in the block test (content cannot tell the missing
item from the untouched sport item 10; SGD-trained neural models on 48 events may add themselves here)."""

SEQUENTIAL = {"sasrec", "seq_rules", "seq_hybrid"}
"""Next-item models: in the block fixture each user's missing item is first in every sequence, so it is
never a next-item target; their known answer is the deterministic chain in test_neural.py and
test_seqhybrid.py instead."""

NAMES = sorted(ALGORITHMS)


def make(name: str) -> Recommender:
    return get_algorithm(name)(FAST.get(name), Runtime(seed=7, threads=1))


@pytest.fixture(scope="module")
def fitted(block_dataset):
    cache: dict[str, Recommender] = {}

    def get(name: str) -> Recommender:
        if name not in cache:
            cache[name] = make(name).fit(block_dataset)
        return cache[name]

    return get


@pytest.fixture(params=NAMES)
def name(request) -> str:
    if request.param in NEURAL:
        pytest.importorskip("torch")
    return request.param


def test_registry_lists_every_family() -> None:
    assert {
        "popularity",
        "trending",
        "user_knn",
        "item_knn",
        "sar",
        "ease",
        "als",
        "bpr",
        "content",
        "hybrid",
    } <= set(ALGORITHMS)


def test_construction_and_registration(name: str) -> None:
    cls = get_algorithm(name)
    assert cls.name == name
    assert ALGORITHMS[name] is cls
    assert issubclass(cls.Config, AlgorithmConfig)
    model = cls()
    assert isinstance(model.config, cls.Config)
    with pytest.raises(NotFittedError):
        model.recommend_indices(np.array([0]), 3)


def test_config_round_trip(name: str) -> None:
    cls = get_algorithm(name)
    cfg = cls.Config(**FAST.get(name, {}))
    again = cls.Config(**json.loads(json.dumps(cfg.model_dump(mode="json"))))
    assert again == cfg
    with pytest.raises(ValueError):
        cls.Config(not_a_parameter=1)


def test_shapes_and_unknown_ids(name: str, fitted, block_dataset) -> None:
    model = fitted(name)
    users = np.arange(block_dataset.n_users)
    scores = model.score_users(users)
    assert scores.shape == (block_dataset.n_users, block_dataset.n_items)
    assert not np.isnan(scores).any()
    idx, sc = model.recommend_indices(users, 3, exclude=block_dataset.seen)
    assert idx.shape == sc.shape == (len(users), 3)
    for bad in (-1, block_dataset.n_users):
        with pytest.raises(UnknownIdError):
            model.recommend_indices(np.array([bad]), 3)
    if model.supports_similar:
        assert model.similar_scores(np.array([0, 5])).shape == (2, block_dataset.n_items)
        with pytest.raises(UnknownIdError):
            model.similar_scores(np.array([block_dataset.n_items]))


def test_save_load_gives_equal_scores(name: str, fitted, block_dataset, tmp_path) -> None:
    model = fitted(name)
    model.save(tmp_path / name)
    assert not list(tmp_path.rglob("*.pkl"))
    loaded = get_algorithm(name).load(tmp_path / name, Runtime(threads=1))
    assert loaded.config == model.config
    users = np.arange(block_dataset.n_users)
    np.testing.assert_allclose(loaded.score_users(users), model.score_users(users), rtol=1e-6, atol=1e-9)
    if model.supports_fold_in:
        rows = block_dataset.matrix()[:3]
        np.testing.assert_allclose(
            loaded.score_history(rows), model.score_history(rows), rtol=1e-5, atol=1e-7
        )


def test_batch_equals_single(name: str, fitted, block_dataset) -> None:
    model = fitted(name)
    users = np.arange(block_dataset.n_users)
    bi, bs = model.recommend_indices(users, 4, exclude=block_dataset.seen, batch_size=5)
    for u in users:
        si, ss = model.recommend_indices(np.array([u]), 4, exclude=block_dataset.seen)
        np.testing.assert_array_equal(si[0], bi[u])
        np.testing.assert_allclose(ss[0], bs[u], rtol=1e-6, atol=1e-9)


def test_filters_are_respected(name: str, fitted, block_dataset) -> None:
    model = fitted(name)
    allowed = np.zeros(block_dataset.n_items, dtype=bool)
    allowed[[1, 2, 6, 7, 9]] = True
    idx, _ = model.recommend_indices(np.arange(N_USERS), 10, exclude=block_dataset.seen, allowed=allowed)
    seen = block_dataset.seen.toarray() > 0
    for u, row in enumerate(idx):
        got = row[row >= 0]
        assert allowed[got].all()
        assert not seen[u, got].any()


def test_block_structure_known_answer(name: str, fitted, block_dataset) -> None:
    if name in NOT_PERSONAL:
        pytest.skip("not personalised")
    if name in SEQUENTIAL:
        pytest.skip("next-item model: known answer is the chain test in test_neural.py")
    model = fitted(name)
    idx, _ = model.recommend_indices(np.arange(N_USERS), 1, exclude=block_dataset.seen)
    for u in range(N_USERS):
        expected = {missing_item(u)}
        if name in APPROXIMATE:
            group = 0 if u < N_USERS // 2 else 1
            expected = set(group_items(group)) | ({2 * GROUP} if group == 0 else set())
        assert idx[u, 0] in expected, f"{name}: user {u} got {idx[u, 0]}, expected {expected}"


def test_fold_in_moves_towards_new_items(name: str, fitted, block_dataset) -> None:
    model = fitted(name)
    if not model.supports_fold_in:
        pytest.skip("no fold-in")
    if name in NOT_PERSONAL:
        # cold users get the (non-personal) item scores; an empty history is fine
        empty = sp.csr_matrix((1, block_dataset.n_items), dtype=np.float32)
        np.testing.assert_allclose(model.score_history(empty)[0], model.score_users(np.array([0]))[0])
        return
    x = block_dataset.matrix()
    # a sport user (0) suddenly buys four kitchen items: the fifth kitchen item must rise
    kitchen = group_items(1)
    new = sp.lil_matrix(x[0].shape, dtype=np.float32)
    new[0, kitchen[:4]] = 5.0
    before = model.score_history(x[0])[0]
    after = model.score_history(sp.csr_matrix(x[0] + new))[0]
    target = kitchen[4]

    def rank(scores: np.ndarray) -> int:
        candidates = np.flatnonzero(x[0].toarray()[0] == 0)
        candidates = np.setdiff1d(candidates, [*kitchen[:4], target])
        return int((scores[candidates] > scores[target]).sum())

    assert rank(after) < rank(before) or rank(after) == 0
    # an unknown user with only kitchen history is recommended the remaining kitchen item
    rows = sp.csr_matrix(new)
    idx, _ = model.recommend_history(rows, 1)
    assert idx[0, 0] == target or (name == "content" and idx[0, 0] in kitchen)
    # no history at all: no error (cold start handled by the caller or a popularity cascade)
    cold = model.score_history(sp.csr_matrix((1, block_dataset.n_items), dtype=np.float32))
    assert cold.shape == (1, block_dataset.n_items)


def test_fits_a_shop_without_events(name: str) -> None:
    """A catalogue ingested before any behaviour: every algorithm fits and serves (cold start)."""
    import pandas as pd

    from shopmind.data.dataset import Dataset

    items = pd.DataFrame({"id": ["a", "b", "c"], "title": ["red shoe", "blue mug", "red mug"]})
    events = pd.DataFrame(
        {"user_id": pd.Series([], dtype=str), "item_id": pd.Series([], dtype=str), "timestamp": []}
    )
    ds = Dataset.from_frame(events, items=items)
    model = make(name).fit(ds)
    if model.supports_fold_in:
        assert model.score_history(sp.csr_matrix((1, 3), dtype=np.float32)).shape == (1, 3)
