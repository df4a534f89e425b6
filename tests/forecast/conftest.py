"""Fixtures for forecasting tests: tiny frames and a fake store with the bulk reads used."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest


@dataclass
class FakeStore:
    """The part of the Store protocol the forecast package reads."""

    sales: pd.DataFrame
    items: pd.DataFrame
    orders: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    url: str = "fake://"

    def sales_frame(self, item_ids=None) -> pd.DataFrame:
        return self.sales

    def items_frame(self) -> pd.DataFrame:
        return self.items

    def orders_frame(self) -> pd.DataFrame:
        return self.orders

    def events_frame(self, *, types=None, **_) -> pd.DataFrame:
        if self.events.empty or types is None:
            return self.events
        return self.events[self.events["type"].isin(types)]

    def get_item(self, item_id):
        return item_id if item_id in set(self.items["id"]) else None


def shop_frames(days: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three items in two categories: a weekly-seasonal seller, a steady one, a slow mover."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    pattern = np.array([5, 1, 1, 2, 3, 8, 10], dtype=float)
    rows = []
    for d, t in zip(dates, range(days), strict=True):
        rows.append(("weekly", d, pattern[t % 7], 10.0, False))
        rows.append(("steady", d, 4.0, 20.0, t % 30 == 0))
        if rng.random() < 0.25:
            rows.append(("slow", d, 2.0, 99.0, False))
    sales = pd.DataFrame(rows, columns=["item_id", "date", "units", "price", "promo"])
    items = pd.DataFrame(
        {
            "id": ["weekly", "steady", "slow", "new"],
            "category": [["Home", "Kitchen"], ["Home", "Bath"], ["Garden"], ["Garden"]],
            "created_at": [None, None, None, pd.Timestamp("2024-04-20", tz="UTC")],
            "stock": [3, 500, 4, 10],
            "price": [10.0, 20.0, 99.0, 5.0],
        }
    )
    return sales, items


@pytest.fixture
def fake_store() -> FakeStore:
    sales, items = shop_frames()
    return FakeStore(sales=sales, items=items)
