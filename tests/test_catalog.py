"""shopmind.catalog.Catalog: the one catalogue class behind search and recommendations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from shopmind.catalog import Catalog, code_mask, records_of


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "title": ["a", "", "c", None],
            "category": [["Home", " Kitchen "], "Home/Kitchenware", "Home > Kitchen > Mugs", None],
            "brand": ["Acme", "  ", None, "Other"],
            "price": [5.0, "10", "n/a", 20],
            "stock": [0, 3, None, "x"],
            "attributes": [{"colour": "red"}, {"colour": "blue"}, {}, None],
            "created_at": ["2024-01-02T00:00:00Z", "2024-01-02", None, "never"],
        },
        index=pd.Index(["p0", "p1", "p2", "p3"]),
    )


def test_one_parsing_rule_for_every_column() -> None:
    c = Catalog.from_table(_table())
    assert c.ids == ["p0", "p1", "p2", "p3"]
    assert c.title == ["a", "p1", "c", "p3"]  # no title: the id
    assert c.category == [("Home", "Kitchen"), ("Home", "Kitchenware"), ("Home", "Kitchen", "Mugs"), ()]
    assert c.brand == ["Acme", None, None, "Other"]  # blank = none
    np.testing.assert_array_equal(c.price, [5.0, 10.0, np.nan, 20.0])
    np.testing.assert_array_equal(c.in_stock(), [False, True, True, True])  # unknown stock = in stock
    assert c.created[0] == c.created[1] == 1704153600.0 and np.isnan(c.created[2:]).all()
    assert c.cat_paths == ["Home > Kitchen", "Home > Kitchenware", "Home > Kitchen > Mugs"]
    assert c.cat_code.tolist() == [0, 1, 2, -1] and c.brand_code.tolist() == [0, -1, -1, 1]


def test_category_prefix_matches_whole_components_case_insensitively() -> None:
    c = Catalog.from_table(_table())
    np.testing.assert_array_equal(c.category_mask("home > KITCHEN"), [True, False, True, False])
    np.testing.assert_array_equal(c.category_mask(("Home",)), [True, True, True, False])
    np.testing.assert_array_equal(c.category_mask(""), [True] * 4)
    np.testing.assert_array_equal(code_mask(np.array([0, -1, 2]), [2], 3), [False, False, True])


def test_coded_attributes_and_append_keep_codes_consistent() -> None:
    c = Catalog.from_records(records_of(_table()), coded_attributes=["colour"])
    c.append(
        [{"id": "p4", "title": "d", "brand": "Acme", "category": ["Home"], "attributes": {"colour": "red"}}]
    )
    assert c.attr_values["colour"] == ["red", "blue"] and c.attr_code["colour"].tolist() == [0, 1, -1, -1, 0]
    assert c.brand_code[-1] == c.brand_code[0]
    np.testing.assert_array_equal(c.category_mask("home"), [True, True, True, False, True])
    assert c.in_stock().shape == (5,)  # derived columns follow the growth


def test_update_refreshes_rows_in_place_and_recodes() -> None:
    c = Catalog.from_table(_table())
    c.category_mask("home")  # fill the derived cache first: update must invalidate it
    fresh = pd.DataFrame(
        {"id": ["p0", "unknown"], "title": ["A2", "z"], "brand": ["New", None], "category": [["Sport"], []],
         "price": [7.5, 1.0], "stock": [2, 0]}
    )  # fmt: skip
    assert c.update(fresh, {i: n for n, i in enumerate(c.ids)}) == 1
    assert c.title[0] == "A2" and c.brand[0] == "New" and c.price[0] == 7.5
    np.testing.assert_array_equal(c.category_mask("sport"), [True, False, False, False])
    np.testing.assert_array_equal(c.category_mask("home"), [False, True, True, False])
    assert c.in_stock()[0]


def test_save_load_round_trip_and_the_older_recommend_format(tmp_path: Path) -> None:
    c = Catalog.from_records(records_of(_table()), coded_attributes=["colour"])
    c.save(tmp_path / "new")
    again = Catalog.load(tmp_path / "new")
    assert again.ids == c.ids and again.category == c.category and again.attributes == c.attributes
    assert (
        again.attr_keys == ["colour"] and again.attr_code["colour"].tolist() == c.attr_code["colour"].tolist()
    )
    np.testing.assert_array_equal(again.price, c.price)
    np.testing.assert_array_equal(again.created, c.created)
    # what recommend artifacts held before the catalogues were merged: four lists and price/stock
    old = tmp_path / "old"
    old.mkdir()
    meta = {"ids": c.ids, "title": c.title, "category": [list(p) for p in c.category], "brand": c.brand}
    (old / "catalog.json").write_text(json.dumps(meta))
    np.savez(old / "catalog.npz", price=c.price, stock=c.stock)
    legacy = Catalog.load(old)
    assert legacy.cat_paths == c.cat_paths and legacy.description == [""] * 4
    np.testing.assert_array_equal(legacy.category_mask("home > kitchen"), c.category_mask("home > kitchen"))


def test_search_and_recommendations_share_the_class() -> None:
    from shopmind.catalog import Catalog as RecommendCatalog
    from shopmind.config import SearchConfig
    from shopmind.search.engine import ProductSearch

    engine = ProductSearch.build(records_of(_table()), config=SearchConfig(semantic=False))
    assert RecommendCatalog is Catalog and type(engine.catalog) is Catalog
