"""Demand series from sales/orders: calendar gaps, listing dates, covariates, bad input."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from shopmind.errors import DataError
from shopmind.forecast.series import (
    CATEGORY_PREFIX,
    TOTAL_ID,
    build_series,
    category_key,
    sales_from_orders,
    series_from_store,
)

from .conftest import FakeStore, shop_frames


def _sales(rows):
    return pd.DataFrame(rows, columns=["item_id", "date", "units", "price", "promo"])


def test_gaps_become_zero_demand_from_listing_date():
    sales = _sales(
        [
            ("a", "2024-01-03", 2, 5.0, True),
            ("a", "2024-01-06", 1, 6.0, False),
            ("b", "2024-01-02", 4, None, False),
        ]
    )
    items = pd.DataFrame(
        {
            "id": ["a", "b"],
            "category": [["X"], ["Y"]],
            "created_at": [pd.Timestamp("2024-01-01", tz="UTC"), None],
        }
    )
    s = build_series(sales, items)
    a = s.items[s.items["unique_id"] == "a"]
    # listed on 01-01: zeros before the first sale, zeros in the gap, ends at the last date seen (01-06)
    assert a["ds"].dt.strftime("%m-%d").tolist() == ["01-01", "01-02", "01-03", "01-04", "01-05", "01-06"]
    assert a["y"].tolist() == [0, 0, 2, 0, 0, 1]
    # price carried over filled days, promo only on the recorded promo day
    assert a["price"].tolist() == [5.0, 5.0, 5.0, 5.0, 5.0, 6.0]
    assert a["promo"].tolist() == [False, False, True, False, False, False]
    b = s.items[s.items["unique_id"] == "b"]
    # no listing date: starts at its first sale, runs to the common end with zeros
    assert b["y"].tolist() == [4, 0, 0, 0, 0]
    assert s.category_of == {"a": "X", "b": "Y"}


def test_sale_before_listing_date_starts_at_the_sale():
    sales = _sales([("a", "2024-01-02", 1, 1.0, False), ("a", "2024-01-04", 1, 1.0, False)])
    items = pd.DataFrame(
        {"id": ["a"], "category": [[]], "created_at": [pd.Timestamp("2024-01-03", tz="UTC")]}
    )
    s = build_series(sales, items)
    assert s.items["y"].tolist() == [1, 0, 1]


def test_weekly_sums_weeks_ending_sunday():
    dates = pd.date_range("2024-01-01", "2024-01-14", freq="D")  # Mon 01-01 .. Sun 01-14
    sales = _sales([("a", d, 1.0, 2.0, d.day == 3) for d in dates])
    s = build_series(sales, freq="W")
    assert s.items["ds"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-07", "2024-01-14"]
    assert s.items["y"].tolist() == [7.0, 7.0]
    assert s.items["promo"].tolist() == [True, False]


def test_promo_flags_parsed_from_text():
    sales = _sales(
        [
            ("a", "2024-01-01", 1, 1.0, "false"),
            ("a", "2024-01-02", 1, 1.0, "True"),
            ("a", "2024-01-03", 1, 1.0, None),
        ]
    )
    assert build_series(sales).items["promo"].tolist() == [False, True, False]


def test_negative_units_refused_with_item_and_date():
    sales = _sales([("a", "2024-01-01", 1, 1.0, False), ("a", "2024-01-02", -3, 1.0, False)])
    with pytest.raises(DataError) as err:
        build_series(sales)
    assert "'a'" in str(err.value) and "2024-01-02" in str(err.value)
    assert err.value.value == -3
    assert err.value.location.line == 2


def test_duplicate_dates_refused():
    sales = _sales([("a", "2024-01-01", 1, 1.0, False), ("a", "2024-01-01", 2, 1.0, False)])
    with pytest.raises(DataError, match="sharing a date"):
        build_series(sales)


def test_bad_date_and_missing_columns_refused():
    with pytest.raises(DataError, match="date"):
        build_series(_sales([("a", "not a date", 1, 1.0, False)]))
    with pytest.raises(DataError, match="lacks columns"):
        build_series(pd.DataFrame({"item_id": ["a"], "units": [1]}))


def test_orders_summed_per_day_and_cancelled_dropped():
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4"],
            "item_id": ["a", "a", "a", "a"],
            "quantity": [1, 2, 5, 3],
            "unit_price": [10.0, 7.0, 1.0, 9.0],
            "status": ["paid", "delivered", "cancelled", "shipped"],
            "created_at": pd.to_datetime(
                ["2024-01-01T09:00Z", "2024-01-01T18:00Z", "2024-01-01T19:00Z", "2024-01-03T10:00Z"]
            ),
        }
    )
    daily = sales_from_orders(orders)
    assert daily["units"].tolist() == [3.0, 3.0]
    assert daily["price"].iloc[0] == pytest.approx((10 + 14) / 3)
    s = build_series(None, orders=orders)
    assert s.items["y"].tolist() == [3.0, 0.0, 3.0]


def test_hierarchy_is_bottom_up_sum():
    sales, items = shop_frames(days=30)
    s = build_series(sales, items)
    h = s.hierarchy()
    total = h[h["unique_id"] == TOTAL_ID].set_index("ds")["y"]
    by_item = s.items.groupby("ds")["y"].sum()
    pd.testing.assert_series_equal(total, by_item, check_names=False)
    home = h[h["unique_id"] == CATEGORY_PREFIX + "Home"].set_index("ds")["y"]
    expect = s.items[s.items["unique_id"].isin(["weekly", "steady"])].groupby("ds")["y"].sum()
    pd.testing.assert_series_equal(home, expect, check_names=False)


def test_category_key_levels():
    assert category_key(["Home", "Kitchen", "Pans"]) == "Home"
    assert category_key(["Home", "Kitchen", "Pans"], level=2) == "Home > Kitchen"
    assert category_key("Home > Kitchen") == "Home"
    assert category_key([]) == "(none)"
    assert category_key(None) == "(none)"


def test_series_from_fake_store_uses_sales_then_orders():
    sales, items = shop_frames(days=20)
    store = FakeStore(sales=sales, items=items)
    s = series_from_store(store)
    assert set(s.item_ids) == {"weekly", "steady", "slow"}  # 'new' never sold: no series
    assert s.items.groupby("unique_id").size().max() == 20
    assert not s.items["y"].isna().any()
    empty = FakeStore(sales=sales.iloc[0:0], items=items, orders=pd.DataFrame())
    assert series_from_store(empty).items.empty


@pytest.mark.skipif(
    importlib.util.find_spec("shopmind.store.sql") is None, reason="shopmind.store.sql not built yet"
)
def test_series_from_real_sqlite_store(tmp_path):
    from shopmind.data.schema import Item, SalesPoint
    from shopmind.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    try:
        store.upsert_items(
            [
                Item(id="a", title="A", category=["Home"], stock=5),
                Item(id="b", title="B", category=["Garden"]),
            ]
        )
        store.add_sales(
            [
                SalesPoint(item_id="a", date=pd.Timestamp("2024-01-01").date(), units=2, price=3.0),
                SalesPoint(
                    item_id="a", date=pd.Timestamp("2024-01-04").date(), units=1, price=3.0, promo=True
                ),
                SalesPoint(item_id="b", date=pd.Timestamp("2024-01-02").date(), units=5),
            ]
        )
        s = series_from_store(store)
        a = s.items[s.items["unique_id"] == "a"]
        assert a["y"].tolist() == [2, 0, 0, 1]
        assert a["promo"].tolist() == [False, False, False, True]
        assert s.category_of["a"] == "Home"
        assert np.isclose(s.hierarchy().query("unique_id == @TOTAL_ID")["y"].sum(), 8)
    finally:
        store.close()
