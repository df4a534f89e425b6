"""Automatic choice on the shop's own events (``shopmind.recommend.tuning``): known answers, budget,
learnt weights, the record written to the model manifest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError
from shopmind.recommend import make_algorithm
from shopmind.recommend.base import Runtime
from shopmind.recommend.tuning import (
    candidate_configs,
    fused_terms,
    holdout,
    learn_weights,
    pool_terms,
    tune,
)

N_CLUSTERS, CLUSTER, PER_USER, N_USERS = 8, 60, 10, 960


def clustered(seed: int = 0, crowded: bool = False) -> Dataset:
    """Users buy distinct items from one cluster of 60 over time; later events continue the cluster.

    Item-kNN with one neighbour per item scores only the targets whose single neighbour the user has
    (about one in eight of the cluster), so its top-10 is mostly arbitrary zero-score items; with hundreds
    of neighbours every unseen item of the user's cluster scores. The right answer is a large ``k``.
    ``crowded``: half of the users share cluster 0, whose items become the most popular ones without
    being relevant to anybody else (popularity misleads).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(N_USERS):
        c = 0 if crowded and u % 2 else u % N_CLUSTERS
        items = rng.choice(CLUSTER, PER_USER, replace=False) + c * CLUSTER
        times = np.sort(rng.uniform(0, 1_000_000, PER_USER)).astype(np.int64)
        rows += [(f"u{u}", f"i{i}", "purchase", t) for i, t in zip(items, times, strict=True)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "type", "timestamp"])
    return Dataset.from_frame(frame)


@pytest.fixture(scope="module")
def data() -> Dataset:
    return clustered()


class FakeTimer:
    """A clock that advances one second per reading: the budget logic becomes deterministic."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_grid_is_resolved_against_the_base_config() -> None:
    grid = candidate_configs("ease", {"l2": 100.0, "top_items": 50})
    assert {"l2": 400.0, "top_items": 50} in grid and {"l2": 25.0, "top_items": 50} in grid
    assert all(cfg["top_items"] == 50 for cfg in grid)
    assert candidate_configs("content", {}) == []  # nothing to vary: the default only
    assert {"k": 400} in candidate_configs("item_knn", {})
    assert {"k": 100} not in candidate_configs("user_knn", {"k": 100})  # the base itself is not repeated


def test_tuning_finds_the_large_neighbourhood(data: Dataset) -> None:
    result = tune(data, {"popularity": {}, "item_knn": {"k": 1}}, budget_s=600, runtime=Runtime(seed=3))
    scores = {t.name: t.score for t in result.trials if t.status == "ok"}
    assert scores["item_knn(k=400)"] > 1.3 * scores["item_knn"]  # the known answer, by a wide margin
    assert result.components["item_knn"]["k"] >= 50
    assert result.chosen in {"item_knn", "hybrid"}
    assert result.chosen_score is not None and result.chosen_score >= scores["item_knn(k=400)"] - 0.02
    record = result.manifest()
    assert record["chosen"]["components"]["item_knn"]["k"] == result.components["item_knn"]["k"]
    assert record["gain_over_popularity"] > 0.5 and record["gain_over_default"] > 0.1
    assert record["default"]["name"] == "hybrid"
    for trial in record["trials"]:
        assert {"name", "algorithm", "config", "status", "ndcg@10", "fit_s"} <= set(trial)
    json.dumps(record)  # the manifest is plain JSON


def test_budget_is_respected(data: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    import shopmind.recommend.tuning as tuning

    monkeypatch.setattr(tuning, "_now", FakeTimer())
    budget = 60.0
    components = {"popularity": {}, "item_knn": {"k": 1}, "ease": {}}
    result = tune(data, components, budget_s=budget, runtime=Runtime(seed=3))
    grid = [t for t in result.trials if t.algorithm in components and t.name != t.algorithm]
    ran = [t for t in grid if t.status == "ok"]
    skipped = [t for t in grid if t.status == "skipped"]
    assert ran and skipped  # the budget lets some of the grid run, not all of it
    assert all(t.note == "budget" and t.started_s is None for t in skipped)
    first = {t.algorithm: t for t in result.trials if t.name == t.algorithm}
    for t in ran:  # a grid candidate starts only when its estimated cost still fits the budget
        assert t.started_s is not None
        assert t.started_s + first[t.algorithm].fit_s + first[t.algorithm].score_s <= budget
    # the configured defaults and both hybrids are scored whatever the budget
    assert all(t.status == "ok" for t in result.trials if t not in grid)
    assert result.manifest()["skipped"] == len(skipped)


def test_tiny_budget_still_compares_with_the_default(data: Dataset) -> None:
    result = tune(data, {"popularity": {}, "item_knn": {}}, budget_s=1e-9)
    assert all(t.status == "skipped" for t in result.trials if t.name.startswith("item_knn("))
    assert result.chosen in {"popularity", "item_knn", "hybrid"}
    assert result.weights is not None  # the hybrid's weights were learnt all the same
    assert result.manifest()["gain_over_default"] is not None
    with pytest.raises(ConfigError):
        tune(data, {"item_knn": {}}, budget_s=0)


def _known_terms(data: Dataset):
    """A hold-out split and two terms: one that knows the held-out items, one that is noise."""
    split = holdout(data, max_users=300, seed=1)
    n_items = split.train.n_items
    truth = split.truth[:, :n_items].toarray()
    rng = np.random.default_rng(5)
    row_of = {int(u): r for r, u in enumerate(split.users)}

    def terms(users: np.ndarray):
        rows = [row_of[int(u)] for u in users]
        good = truth[rows] + 0.5 * rng.random((len(users), n_items))
        noise = rng.random((len(users), n_items))
        return None, {"good": good, "noise": noise}

    return split, terms


def test_learnt_weights_move_away_from_a_preset_that_does_not_fit(data: Dataset) -> None:
    split, terms = _known_terms(data)
    preset = {"good": 0.1, "noise": 2.0}  # weights carried over from another data set
    weights, crossed, at_preset = learn_weights(terms, split, preset)
    assert weights != preset
    assert weights["noise"] < weights["good"]
    assert crossed > at_preset + 0.1  # out of sample (cross-fitted), not only on the users it was fitted on


def test_fused_terms_reproduce_the_model(data: Dataset) -> None:
    split = holdout(data, max_users=50, seed=1)
    cfg = {
        "context": {"low_pass_rank": 0},
        "components": {"item_knn": {"k": 50}, "popularity": {}},
        "weights": {"item_knn": 0.7, "popularity": 0.2},
    }
    model = make_algorithm("ease_context_fused", cfg, Runtime(seed=1, threads=1)).fit(split.train)
    users = split.users[:20]
    fixed, parts = fused_terms(model)(users)
    blend = fixed + 0.7 * parts["item_knn"] + 0.2 * parts["popularity"]
    np.testing.assert_allclose(blend, model.score_users(users), rtol=1e-9, atol=1e-9)
    pooled = pool_terms(fused_terms(model), split)
    assert pooled.pool.shape[0] == len(split.users)


def test_train_records_the_choice_in_the_manifest(
    tmp_path, data: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shopmind.recommend.service as service
    from shopmind.capability import TrainContext
    from shopmind.config import Settings

    settings = Settings(
        training={"threads": 1, "tune_budget_s": 120, "recommenders": ["popularity", "item_knn"]}
    )
    ctx = TrainContext(store=None, settings=settings)  # type: ignore[arg-type]
    ctx.__dict__["dataset"] = data  # fills the cached property: these events need no store
    monkeypatch.setattr(service, "baskets", lambda *args: (np.array(["b"]), np.array([0])))
    info = service.train(ctx, tmp_path / service.NAME)
    manifest = json.loads((tmp_path / service.NAME / "manifest.json").read_text())
    record = manifest["tuning"]
    assert record["chosen"]["algorithm"] == info["default"] == manifest["default"]
    assert record["trials"][0]["name"] == "popularity"
    assert record["chosen"]["weights"] == pytest.approx(manifest["hybrid_weights"])
    served = service.RecommendService.load(tmp_path / service.NAME, threads=1)
    assert served.default == info["default"]
    knn = served.models["item_knn"]
    assert knn.config == type(knn).Config(**record["chosen"]["components"]["item_knn"])


def test_composite_weights_are_learnt_when_training() -> None:
    fused = {
        "context": {"low_pass_rank": 0},
        "components": {"item_knn": {"k": 50}, "popularity": {}},
        "weights": {"item_knn": 0.1, "popularity": 2.0},  # a preset that overweights popularity here
    }
    result = tune(
        clustered(crowded=True),
        {"popularity": {}, "ease_context_fused": fused},
        budget_s=600,
        runtime=Runtime(seed=3),
    )
    learnt = next(t for t in result.trials if t.name == "ease_context_fused (learnt weights)")
    preset = next(t for t in result.trials if t.name == "ease_context_fused")
    assert learnt.status == "ok" and learnt.weights is not None
    assert learnt.weights["popularity"] < fused["weights"]["popularity"]
    assert learnt.score is not None and preset.score is not None and learnt.score >= preset.score
    assert result.components["ease_context_fused"]["weights"] == learnt.weights  # what training serves


def test_unchanged_data_reuses_the_choice_and_a_change_tunes_again(tmp_path, monkeypatch) -> None:
    import shopmind.recommend.tuning as tuning
    from shopmind.train_cache import ChoiceCache

    cache = ChoiceCache(tmp_path, "recommend-tuning")
    components = {"popularity": {}, "item_knn": {"k": 1}}
    calls: list[int] = []
    real_tune = tuning.tune

    def counting_tune(*args, **kwargs):
        calls.append(1)
        return real_tune(*args, **kwargs)

    monkeypatch.setattr(tuning, "tune", counting_tune)
    data = clustered()
    first = tuning.remembered_tune(cache, data, components, budget_s=600, runtime=Runtime(seed=3))
    again = tuning.remembered_tune(cache, clustered(), components, budget_s=600, runtime=Runtime(seed=3))
    assert len(calls) == 1 and first.record["reused"] is False and again.record["reused"] is True
    assert (again.chosen, again.components, again.weights) == (first.chosen, first.components, first.weights)
    assert {k: v for k, v in again.record.items() if k not in ("reused", "key")} == {
        k: v for k, v in first.record.items() if k != "reused"
    }
    # one more event, another setting, another seed: each is a new choice
    frame = pd.DataFrame(
        [("u0", "i5", "purchase", 2_000_000)], columns=["user_id", "item_id", "type", "timestamp"]
    )
    events = pd.DataFrame(
        {
            "user_id": data.users.ids[data.user_idx],
            "item_id": data.items.ids[data.item_idx],
            "type": "purchase",
            "timestamp": data.timestamp,
        }
    )
    grown = Dataset.from_frame(pd.concat([events, frame], ignore_index=True))
    tuning.remembered_tune(cache, grown, components, budget_s=600, runtime=Runtime(seed=3))
    tuning.remembered_tune(
        cache, data, {"popularity": {}, "item_knn": {"k": 2}}, budget_s=600, runtime=Runtime(seed=3)
    )
    tuning.remembered_tune(cache, data, components, budget_s=600, runtime=Runtime(seed=4))
    assert len(calls) == 4
    assert (
        tuning.remembered_tune(None, data, components, budget_s=600, runtime=Runtime(seed=3)).record["reused"]
        is False
    )


def test_retraining_unchanged_data_serves_the_same_models(tmp_path, data: Dataset, monkeypatch) -> None:
    import shopmind.recommend.service as service
    from shopmind.capability import TrainContext
    from shopmind.config import Settings

    settings = Settings(
        training={"threads": 1, "tune_budget_s": 120, "recommenders": ["popularity", "item_knn", "ease"]}
    )
    monkeypatch.setattr(service, "baskets", lambda *args: (np.array(["b"]), np.array([0])))
    outputs = []
    for run in ("first", "second"):
        ctx = TrainContext(store=None, settings=settings)  # type: ignore[arg-type]
        ctx.__dict__["dataset"] = data
        service.train(ctx, tmp_path / run / service.NAME)
        outputs.append(json.loads((tmp_path / run / service.NAME / "manifest.json").read_text()))
    first, second = outputs
    assert first["tuning"]["reused"] is False and second["tuning"]["reused"] is True
    assert second["hybrid_weights"] == first["hybrid_weights"] and second["default"] == first["default"]
    assert second["tuning"]["chosen"] == first["tuning"]["chosen"]
    a = np.load(tmp_path / "first" / service.NAME / "pools.npz")
    b = np.load(tmp_path / "second" / service.NAME / "pools.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a.files)  # the refitted models rank the same


def test_unchanged_inputs_link_the_served_models_and_a_change_refits(
    tmp_path, data: Dataset, monkeypatch
) -> None:
    import hashlib

    import shopmind.recommend.service as service
    from shopmind import capabilities, pipeline
    from shopmind.capability import TrainContext
    from shopmind.config import Settings
    from shopmind.store.artifacts import ArtifactStore

    settings = Settings(
        artifacts_dir=tmp_path / "artifacts",
        training={"threads": 1, "tune_budget_s": 120, "recommenders": ["popularity", "item_knn"]},
    )
    monkeypatch.setattr(service, "baskets", lambda *args: (np.array(["b"]), np.array([0])))
    monkeypatch.setattr(capabilities, "CAPABILITIES", {"recommend": capabilities.CAPABILITIES["recommend"]})
    artifacts = ArtifactStore(settings.artifacts_dir)
    grown = clustered(seed=1)

    def train(dataset: Dataset) -> dict:
        ctx = TrainContext(store=None, settings=settings)  # type: ignore[arg-type]
        ctx.__dict__["dataset"] = dataset
        run_id = pipeline.train_all(ctx, artifacts)
        folder = artifacts.run(run_id).path / service.NAME
        digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.np*")}
        return {
            "id": run_id,
            "manifest": json.loads((folder / "manifest.json").read_text()),
            "files": digests,
        }

    first, second = train(data), train(data)
    assert "reused_from" not in first["manifest"]
    assert second["manifest"]["reused_from"] == first["id"] and second["files"] == first["files"]
    assert second["manifest"]["hybrid_weights"] == first["manifest"]["hybrid_weights"]
    served = service.RecommendService.load(artifacts.current().path / service.NAME, threads=1)  # type: ignore[union-attr]
    assert len(served.recommend("u1", k=5).items) == 5
    third = train(grown)  # other events: fitted again
    assert "reused_from" not in third["manifest"] and third["files"] != first["files"]
    current = artifacts.current()
    assert current is not None
    (current.path / service.NAME / "items.json").write_text("[]")  # a damaged served file is never linked
    fourth = train(grown)
    assert "reused_from" not in fourth["manifest"]
