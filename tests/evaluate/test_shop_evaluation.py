"""Judged queries derived from a catalogue (the shop evaluation's fallback when there is no search log)."""

from __future__ import annotations

import pandas as pd
import pytest

from shopmind.evaluate.shop import EvaluationSkipped, catalogue_judged


def products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "title": ["x"] * 5,
            "category": [
                ["Audio", "Headphones"],
                ["Audio", "Headphones"],
                ["Kitchen", "Grinders"],
                ["Kitchen", "Grinders"],
                [],
            ],
            "brand": ["Acme", "Globex", "Acme", None, "Acme"],
        }
    )


def test_category_and_brand_queries_with_graded_items() -> None:
    judged = catalogue_judged(products(), max_queries=10)
    assert judged.queries == {
        "c0001": "grinders",
        "c0002": "headphones",
        "c0003": "acme grinders",
        "c0004": "acme headphones",
        "c0005": "globex headphones",
    }
    assert judged.qrels == {
        "c0001": {"c": 2, "d": 2},
        "c0002": {"a": 2, "b": 2},
        "c0003": {"c": 3, "d": 1},  # the category's other items (also brandless ones) are partly relevant
        "c0004": {"a": 3, "b": 1},
        "c0005": {"b": 3, "a": 1},
    }


def test_query_cap_splits_between_categories_and_brands_and_is_seeded() -> None:
    first = catalogue_judged(products(), max_queries=2, seed=7)
    assert len(first.queries) == 2
    assert first.queries["c0001"] in {"grinders", "headphones"} and " " in first.queries["c0002"]
    assert catalogue_judged(products(), max_queries=2, seed=7).queries == first.queries


def test_no_category_means_no_queries() -> None:
    frame = products().assign(category=[[]] * 5)
    with pytest.raises(EvaluationSkipped) as info:
        catalogue_judged(frame, max_queries=10)
    assert info.value.code == "no_queries"
