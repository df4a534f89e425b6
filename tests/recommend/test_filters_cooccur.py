"""Filters, boosts and the bought-together lift table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopmind.catalog import Catalog, split_path
from shopmind.recommend.cooccur import BoughtTogether
from shopmind.recommend.filters import RecFilters, apply_boost, build_candidates


def catalog() -> Catalog:
    table = pd.DataFrame(
        {
            "title": ["a", "b", "c", "d"],
            "category": [["Home", "Kitchen"], ["Home", "Kitchenware"], "Home > Kitchen > Mugs", None],
            "brand": ["Acme", "acme", None, "Other"],
            "price": [5.0, 10.0, None, 20.0],
            "stock": [0, 3, None, 1],
        },
        index=pd.Index(["a", "b", "c", "d"]),
    )
    return Catalog.from_table(table)


def test_split_path_accepts_lists_and_strings() -> None:
    assert split_path("A > B") == ("A", "B")
    assert split_path("A/B/C") == ("A", "B", "C")
    assert split_path(["A", " B "]) == ("A", "B")
    assert split_path(None) == ()


def test_category_prefix_matches_whole_components() -> None:
    cat = catalog()
    np.testing.assert_array_equal(cat.category_mask("home > kitchen"), [True, False, True, False])
    np.testing.assert_array_equal(cat.category_mask("Home"), [True, True, True, False])


def test_candidates_and_boosts() -> None:
    cat = catalog()
    index = {i: n for n, i in enumerate(cat.ids)}
    allowed, boost = build_candidates(RecFilters(in_stock=True), cat, index)
    np.testing.assert_array_equal(allowed, [False, True, True, True])  # unknown stock counts as available
    allowed, _ = build_candidates(RecFilters(min_price=6), cat, index)
    np.testing.assert_array_equal(allowed, [False, True, False, True])  # unknown price fails a price filter
    allowed, _ = build_candidates(RecFilters(exclude_ids=("d", "zzz")), cat, index)
    assert not allowed[3] and allowed[:3].all()
    _, boost = build_candidates(
        RecFilters(boosts={"c": 2.0}, brand_boosts={"ACME": 3.0}, category_boosts={"Home > Kitchen": 5.0}),
        cat,
        index,
    )
    np.testing.assert_allclose(boost, [15.0, 3.0, 10.0, 1.0])
    np.testing.assert_allclose(apply_boost(np.array([2.0, -2.0]), np.array([2.0, 2.0])), [4.0, -1.0])
    with pytest.raises(ValueError):
        RecFilters(boosts={"a": 0.0})


def test_catalog_save_load_round_trip(tmp_path) -> None:
    cat = catalog()
    cat.save(tmp_path)
    again = Catalog.load(tmp_path)
    assert again.ids == cat.ids and again.category == cat.category and again.brand == cat.brand
    np.testing.assert_array_equal(np.isnan(again.stock), np.isnan(cat.stock))


def test_bought_together_lift_by_hand(tmp_path) -> None:
    # 5 baskets: {0,1} {0,1} {0,2} {1,2} {3}; n0=3 n1=3 n2=2, n01=2 n02=1 n12=1
    basket = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4])
    item = np.array([0, 1, 0, 1, 0, 2, 1, 2, 3])
    bt = BoughtTogether(min_support=1).fit(basket, item, 4)
    idx, lift, sup = bt.top(0, 5)
    assert idx.tolist() == [1, 2]
    np.testing.assert_allclose(lift, [2 * 5 / (3 * 3), 1 * 5 / (3 * 2)])
    assert sup.tolist() == [2, 1]
    strict = BoughtTogether(min_support=2).fit(basket, item, 4)
    assert strict.top(0, 5)[0].tolist() == [1]
    assert strict.top(3, 5)[0].tolist() == []
    bt.save(tmp_path)
    again = BoughtTogether.load(tmp_path)
    np.testing.assert_allclose(again.top(0, 5)[1], lift)
