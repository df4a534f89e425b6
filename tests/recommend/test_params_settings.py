"""``[recommend.params.<algorithm>]`` in shopmind.toml reaches the trained models; bad tables fail
before anything is fitted, naming the table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from recfixtures import block_frames

from shopmind.capability import TrainContext
from shopmind.config import load_settings
from shopmind.data.schema import Event, Item
from shopmind.errors import ConfigError
from shopmind.recommend.ease import EASE
from shopmind.recommend.ensemble import load_model
from shopmind.recommend.hybrid import Hybrid
from shopmind.recommend.service import NAME, train
from shopmind.store import open_store

TOML = """
[training]
recommenders = ["popularity", "ease", "item_knn"]
recommender_presets = ["ml-100k"]
tune_budget_s = 0
threads = 1

[recommend.params.ease]
l2 = 123.0

[recommend.params.item_knn]
k = 7

[recommend.params.hybrid]
normalization = "rank"
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("params")
    store = open_store(f"sqlite:///{root / 'shop.db'}")
    events, items = block_frames()
    store.upsert_items(Item(**row) for row in items.to_dict("records"))
    store.add_events(
        Event(
            id=f"e{k}",
            user_id=r.user_id,
            item_id=r.item_id,
            type=r.type,
            timestamp=datetime.fromtimestamp(int(r.timestamp), UTC),
        )
        for k, r in enumerate(events.itertuples())
    )
    return store


def _settings(tmp_path: Path, text: str):
    path = tmp_path / "shopmind.toml"
    path.write_text(text)
    return load_settings(path, env={})


def test_a_toml_setting_reaches_the_trained_model(store, tmp_path) -> None:
    settings = _settings(tmp_path, TOML)
    assert settings.recommend.params["ease"] == {"l2": 123.0}
    train(TrainContext(store=store, settings=settings), tmp_path / NAME)
    hybrid = load_model(tmp_path / NAME / "models" / "hybrid")
    assert isinstance(hybrid, Hybrid)
    assert hybrid.config.normalization == "rank"  # the served blend's own table
    ease = hybrid.models["ease"]
    assert isinstance(ease, EASE)
    assert ease.config.l2 == 123.0  # the setting, over the ml-100k preset's λ 1200
    assert ease.config.precision == "float32"  # the shop's own EASE setting stays below it
    assert hybrid.models["item_knn"].config.k == 7  # type: ignore[attr-defined]
    assert hybrid.models["item_knn"].config.binary is True  # type: ignore[attr-defined]  # preset key kept


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[recommend.params.ease]\nlambda = 5.0\n", r"recommend\.params\.ease.*'lambda'"),
        ("[recommend.params.ease]\nl2 = -1.0\n", r"recommend\.params\.ease.*'l2'"),
        (
            "[recommend.params.no_such_model]\nk = 1\n",
            r"recommend\.params\.no_such_model.*unknown recommender",
        ),
        ("[recommend.params.hybrid]\nweights = { ease = 1.0 }\n", r"recommend\.params\.hybrid.*tuning"),
    ],
)
def test_a_bad_table_fails_before_fitting(store, tmp_path, table, message) -> None:
    settings = _settings(tmp_path, "[training]\ntune_budget_s = 0\nthreads = 1\n" + table)
    with pytest.raises(ConfigError, match=message):
        train(TrainContext(store=store, settings=settings), tmp_path / NAME)
    assert not (tmp_path / NAME / "models").exists()
