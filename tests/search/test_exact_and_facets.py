"""Exact identifier matches rank first; a facet value's count equals the total its filter returns;
CJK queries are not ranked by an English-only encoder."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.config import SearchConfig
from shopmind.search.engine import MODES, ProductSearch, identifier_key

from .conftest import ITEMS, HashEncoder

WORDS = ["wireless", "portable", "black", "compact", "pro", "mini", "smart", "classic", "sport", "travel"]
KINDS = {
    ("Electronics", "Audio", "Headphones"): "headphones",
    ("Electronics", "Audio", "Speakers"): "speaker",
    ("Electronics", "Computers", "Laptops"): "laptop",
    ("Electronics", "Computers", "Keyboards"): "keyboard",
    ("Home", "Kitchen", "Kettles"): "kettle",
    ("Home", "Garden", "Hoses"): "hose",
}
BRANDS = ["Sony", "JBL", "Bose", "Apple", "Xiaomi", "Philips"]


def generated_catalogue(n: int = 600, seed: int = 7) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    paths = list(KINDS)
    items = []
    for i in range(n):
        path = paths[int(rng.integers(len(paths)))]
        words = " ".join(rng.choice(WORDS, size=2, replace=False).tolist())
        brand = BRANDS[int(rng.integers(len(BRANDS)))]
        model = f"{KINDS[path][:2].upper()}-{100 + i}"
        items.append(
            {
                "id": f"SKU{i:05d}",
                "title": f"{brand} {model} {words} {KINDS[path]}",
                "brand": brand,
                "category": list(path),
                "price": float(rng.choice([9.0, 30.0, 80.0, 200.0, 700.0, 1500.0])),
                "stock": int(rng.integers(0, 5)),
                "attributes": {"model": model, "colour": str(rng.choice(["black", "white", "blue"]))},
            }
        )
    return items


@pytest.fixture(scope="module")
def generated() -> ProductSearch:
    return ProductSearch.build(
        generated_catalogue(), config=SearchConfig(min_similarity=0.2, candidates=50), encoder=HashEncoder()
    )


def test_identifier_key_ignores_case_spaces_and_hyphens() -> None:
    assert identifier_key("WH-952") == identifier_key("wh 952") == identifier_key("ｗｈ９５２") == "wh952"


@pytest.mark.parametrize("mode", MODES[:3])
@pytest.mark.parametrize("form", ["SKU00123", "sku00123", "SKU-00123", "{m}", "{m_lower}", "{m_spaced}"])
def test_exact_id_or_model_number_ranks_first(generated: ProductSearch, mode: str, form: str) -> None:
    model = str(generated.catalog.attributes[123]["model"])  # e.g. "HE-223": words of other titles too
    query = form.format(m=model, m_lower=model.lower().replace("-", ""), m_spaced=model.replace("-", " "))
    res = generated.search(query, mode=mode, k=5)
    assert res.ids[:1] == ["SKU00123"], (query, mode, res.ids)


def test_exact_match_respects_filters(generated: ProductSearch) -> None:
    brand = generated.catalog.brand[123]
    other = next(b for b in BRANDS if b != brand)
    res = generated.search("SKU00123", mode="bm25", filters={"brand": other})
    assert "SKU00123" not in res.ids


def test_exact_match_on_fixture_model_number(engine: ProductSearch) -> None:
    # "WH-1000XM5" is a title word of hp1 (no attribute); the analyzer splits it into tokens
    for q in ("WH-1000XM5", "wh1000xm5", "WH 1000 XM5"):
        for mode in ("bm25", "hybrid", "semantic"):
            assert engine.search(q, mode=mode).ids[0] == "hp1", (q, mode)


QUERIES = ["wireless headphones", "portable speaker", "black", "laptop pro", "smart kettle", "travel"]


@pytest.mark.parametrize("mode", MODES[:3])
@pytest.mark.parametrize("query", QUERIES)
def test_facet_count_equals_filtered_total(generated: ProductSearch, mode: str, query: str) -> None:
    """Property: for every shown category, brand and price value, count == total under that filter,
    also when another facet is already selected (disjunctive counts)."""
    for base_filters in ({}, {"brand": "Sony"}, {"price": "0..250"}):
        res = generated.search(query, mode=mode, k=10, filters=base_filters)
        checked = 0
        for facet, key in (("category", "category"), ("brand", "brand"), ("price", "price")):
            for value, count in list(res.facets[facet].items())[:4]:
                filters = dict(base_filters)
                if key == "brand" and "brand" in filters:
                    filters["brand"] = value  # disjunctive: the count is without the own selection
                else:
                    filters[key] = value
                got = generated.search(query, mode=mode, k=1, filters=filters, facets=False).total
                assert got == count, (query, mode, base_filters, facet, value, count, got)
                checked += 1
        assert checked or res.total == 0


def test_facet_counts_equal_totals_when_semantic_neighbours_differ_by_filter() -> None:
    """The regression: semantic neighbours were retrieved under the facet filter, so selecting a
    category found more of them than its count showed ("Computers (293)" → 305)."""
    ps = ProductSearch.build(
        generated_catalogue(400, seed=3),
        config=SearchConfig(min_similarity=0.0, candidates=30),
        encoder=HashEncoder(),
    )
    res = ps.search("wireless", mode="semantic", k=5)
    for value, count in res.facets["category"].items():
        assert (
            ps.search("wireless", mode="semantic", filters={"category": value}, facets=False).total == count
        )


class EnglishOnly(HashEncoder):
    name = "all-MiniLM-L6-v2"


def test_cjk_query_is_not_ranked_by_english_only_encoder() -> None:
    items = [
        *ITEMS,
        {"id": "kb2", "title": "微软 无线键盘 白色", "category": ["Computers", "Accessories"], "price": 40.0},
        {"id": "dog1", "title": "皇家 狗粮 3kg", "category": ["Pets", "Food"], "price": 30.0},
    ]
    # without a multilingual encoder beside it (the default has one: tests/search/test_crosslingual.py)
    cfg = SearchConfig(min_similarity=-1.0, multilingual_encoder=None)
    ps = ProductSearch.build(items, config=cfg, encoder=EnglishOnly())
    for mode in ("hybrid", "semantic", "bm25"):
        res = ps.search("狗粮", mode=mode)
        assert res.ids == ["dog1"], (mode, res.ids)
    assert ps.search("绿茶", mode="hybrid").ids == []  # no keyword match: no random neighbours
    # a multilingual (or unknown) encoder still takes part
    multi = ProductSearch.build(items, config=SearchConfig(min_similarity=-1.0), encoder=HashEncoder())
    assert len(multi.search("狗粮", mode="hybrid").ids) > 1
