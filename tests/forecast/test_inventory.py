"""Inventory formulas against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shopmind.errors import ConfigError
from shopmind.forecast.inventory import (
    InventoryPolicy,
    advise_item,
    eoq,
    order_units,
    pack_size_of,
    path_sum,
    safety_stock,
    z_value,
)

Z95 = 1.6448536269514722


def test_z_safety_stock_eoq_by_hand():
    assert z_value(0.95) == pytest.approx(Z95)
    assert z_value(0.5) == pytest.approx(0.0)
    # SS = z·σ·√L = 1.6449 · 3 · √7
    assert safety_stock(3.0, 7.0, Z95) == pytest.approx(13.05571, rel=1e-5)
    # EOQ = √(2·3650·50/5) = √73000
    assert eoq(3650.0, 50.0, 5.0) == pytest.approx(270.18512, rel=1e-6)
    with pytest.raises(ConfigError):
        eoq(100.0, 50.0, 0.0)


def test_path_sum_fractional_and_beyond_horizon():
    assert path_sum(np.array([1.0, 2.0, 3.0]), 2.5) == pytest.approx(1 + 2 + 0.5 * 3)
    # beyond the 3-period path the path mean (2) is repeated
    assert path_sum(np.array([1.0, 2.0, 3.0]), 5) == pytest.approx(1 + 2 + 3 + 2 + 2)
    assert path_sum(np.array([1.0]), 0) == 0.0


def _advice(stock, **policy):
    return advise_item(
        item_id="x",
        forecast_path=np.full(28, 10.0),
        sigma=3.0,
        stock=stock,
        price=20.0,
        policy=InventoryPolicy(**policy),
    )


def test_continuous_review_numbers_and_explain():
    a = _advice(50, service_level=0.95, lead_time_days=7)
    assert a["lead_time_demand"] == pytest.approx(70.0)
    assert a["safety_stock"] == pytest.approx(Z95 * 3 * math.sqrt(7))
    assert a["reorder_point"] == pytest.approx(70 + Z95 * 3 * math.sqrt(7))
    assert a["eoq"] == pytest.approx(math.sqrt(2 * 3650 * 50 / (0.25 * 20)))
    assert a["days_of_cover"] == pytest.approx(5.0)
    assert a["status"] == "stockout_risk"
    # EOQ (≈ 270.2) exceeds ROP − stock here; the order is whole units, rounded up
    assert a["suggested_order"] == math.ceil(a["eoq"]) and isinstance(a["suggested_order"], int)
    ex = a["explain"]
    assert ex["safety_stock"]["z"] == pytest.approx(Z95) and ex["safety_stock"]["L"] == 7
    assert ex["reorder_point"]["lead_time_demand"] == pytest.approx(70.0)
    assert ex["eoq"]["H_holding_cost"] == pytest.approx(5.0)
    assert ex["days_of_cover"]["stock"] == 50


def test_status_ok_and_overstock():
    assert _advice(100)["status"] == "ok"
    assert _advice(100)["suggested_order"] == 0
    over = _advice(2000, overstock_days=90)
    assert over["status"] == "overstock" and over["days_of_cover"] == pytest.approx(200.0)
    assert _advice(None)["status"] == "unknown_stock"


def test_periodic_review_order_up_to():
    a = _advice(60, review_period_days=7, lead_time_days=7)
    out = 140 + Z95 * 3 * math.sqrt(14)
    assert a["order_up_to"] == pytest.approx(out)
    assert a["suggested_order"] == math.ceil(out - 60)


def test_weekly_periods_convert_days():
    # 70 units a week = 10 a day; a 14-day lead time is 2 weekly periods
    a = advise_item(
        item_id="w",
        forecast_path=np.full(4, 70.0),
        sigma=7.0,
        stock=100,
        price=None,
        policy=InventoryPolicy(lead_time_days=14),
        period_days=7.0,
    )
    assert a["mean_daily_demand"] == pytest.approx(10.0)
    assert a["lead_time_demand"] == pytest.approx(140.0)
    assert a["safety_stock"] == pytest.approx(Z95 * 7 * math.sqrt(2))
    assert a["eoq"] is None and "no unit price" in a["explain"]["eoq"]["note"]


def test_zero_demand_cover_is_infinite():
    a = advise_item(
        item_id="z", forecast_path=np.zeros(7), sigma=0.0, stock=5, price=1.0, policy=InventoryPolicy()
    )
    assert a["days_of_cover"] == math.inf and a["status"] == "overstock"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"service_level": 1.0},
        {"service_level": 0.3},
        {"lead_time_days": 0},
        {"holding_rate": 0},
        {"review_period_days": -1},
    ],
)
def test_bad_policy_refused(kwargs):
    with pytest.raises(ConfigError):
        InventoryPolicy(**kwargs)


def test_order_quantity_is_whole_packs():
    """The formulas' fractional need becomes whole units, rounded up to the supplier's pack size."""
    need = math.sqrt(2 * 3650 * 50 / (0.25 * 20))  # EOQ ≈ 270.19
    a = advise_item(
        item_id="x",
        forecast_path=np.full(28, 10.0),
        sigma=3.0,
        stock=50,
        price=20.0,
        policy=InventoryPolicy(),
        pack_size=12,
    )
    assert a["suggested_order"] == 276 and a["pack_size"] == 12  # 23 cases of 12
    assert a["explain"]["suggested_order"]["need"] == pytest.approx(need)
    assert order_units(24.0, 12) == 24 and order_units(24.0000001, 12) == 24 and order_units(25, 12) == 36
    assert order_units(0.2) == 1 and order_units(0.0) == 0 and order_units(-3.0) == 0


def test_pack_size_from_attributes():
    assert pack_size_of({"case_size": 6}) == 6
    assert pack_size_of({"pack_size": "24"}) == 24
    assert pack_size_of({"order_multiple": 10.0, "case_size": "x"}) == 10  # a bad value is skipped
    for bad in ({"case_size": 0}, {"case_size": 2.5}, {"case_size": True}, {"case_size": 10**9}, {}, None):
        assert pack_size_of(bad) == 1
