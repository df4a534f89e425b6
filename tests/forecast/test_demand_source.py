"""Demand without a sales file: forecasts from orders, else from purchase events; the source is recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from shopmind.config import ForecastTrainConfig
from shopmind.data.schema import Event, Item, Order, OrderLine, User
from shopmind.forecast.service import NAME, ForecastService, train
from shopmind.store.sql import SqlStore

from .test_service import _ctx

CFG = ForecastTrainConfig(horizon=7, n_windows=2, top_n=2, input_size=None, history_days=28)
START = datetime(2024, 1, 1, 10, tzinfo=UTC)
DAYS = 60


@pytest.fixture
def store(tmp_path: Path):
    s = SqlStore(f"sqlite:///{tmp_path / 'shop.db'}")
    s.upsert_items(
        [
            Item(id="a", title="A", category=["Home"], price=10.0, stock=40, attributes={"case_size": 12}),
            Item(id="b", title="B", category=["Garden"], price=5.0, stock=500),
        ]
    )
    s.upsert_users([User(id="u1")])
    yield s
    s.close()


def _daily_units(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.poisson(6.0, DAYS) + 1, rng.poisson(2.0, DAYS) + 1])  # item a, item b


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_store_with_orders_only_trains_forecasts(store: SqlStore, tmp_path: Path) -> None:
    units = _daily_units()
    store.upsert_orders(
        Order(
            id=f"o{d}",
            user_id="u1",
            lines=[
                OrderLine(item_id="a", quantity=int(units[0, d]), unit_price=10.0),
                OrderLine(item_id="b", quantity=int(units[1, d]), unit_price=5.0),
            ],
            status="delivered",
            created_at=START + timedelta(days=d),
        )
        for d in range(DAYS)
    )
    out = tmp_path / NAME
    info = train(_ctx(store), out, CFG)
    assert info["n_items"] == 2 and info["demand_source"] == "orders"
    assert _manifest(out)["demand_source"] == "orders"
    svc = ForecastService.load(out, store)
    hist = svc.forecast(item_id="a")["history"]
    assert sum(h["y"] for h in hist) == pytest.approx(units[0, -len(hist) :].sum())


def test_store_with_purchase_events_only_trains_forecasts(store: SqlStore, tmp_path: Path) -> None:
    units = _daily_units(1)
    events = [
        Event(
            id=f"e{k}{d}",
            user_id="u1",
            item_id=item,
            type="purchase",
            quantity=int(units[k, d]),
            timestamp=START + timedelta(days=d),
        )
        for k, item in enumerate(("a", "b"))
        for d in range(DAYS)
    ]
    # views are not demand
    events.append(Event(id="v1", user_id="u1", item_id="a", type="view", timestamp=START))
    store.add_events(events)
    assert store.sales_frame().empty and store.orders_frame().empty
    out = tmp_path / NAME
    info = train(_ctx(store), out, CFG)
    assert info["n_items"] == 2 and info["demand_source"] == "purchase_events"
    assert _manifest(out)["demand_source"] == "purchase_events"
    svc = ForecastService.load(out, store)
    hist = svc.forecast(item_id="b")["history"]
    assert sum(h["y"] for h in hist) == pytest.approx(units[1, -len(hist) :].sum())
    # inventory advice: whole units, in cases of 12 for item a (its case_size attribute)
    rows = {r["item_id"]: r for r in svc.inventory()}
    assert rows["a"]["pack_size"] == 12 and rows["a"]["suggested_order"] % 12 == 0
    assert rows["a"]["suggested_order"] > 0 and rows["a"]["status"] == "stockout_risk"
    assert rows["b"]["pack_size"] == 1 and rows["b"]["suggested_order"] == 0
    assert all(isinstance(r["suggested_order"], int) for r in rows.values())


def _demo_advice(shop: Path) -> list[dict]:
    import pandas as pd

    from .conftest import FakeStore

    items = pd.read_json(shop / "items.jsonl", lines=True, dtype={"id": str})
    sales = pd.read_csv(shop / "sales.csv")
    svc = ForecastService.live(FakeStore(sales=sales, items=items), CFG)
    return svc.inventory()


def test_demo_shop_inventory_is_not_all_at_risk(tmp_path: Path) -> None:
    """The generated shop's stock follows demand: most items are fine, a few need an order."""
    from shopmind.datasets.synthetic import ShopConfig, generate

    generate(ShopConfig.preset("tiny", seed=3), tmp_path)
    rows = _demo_advice(tmp_path)
    status = [r["status"] for r in rows]
    risk = status.count("stockout_risk") / len(rows)
    assert 0 < risk < 0.4 and status.count("ok") > len(rows) / 3, status
    assert all(isinstance(r["suggested_order"], int) for r in rows)
    assert all(r["suggested_order"] > 0 for r in rows if r["status"] == "stockout_risk")
