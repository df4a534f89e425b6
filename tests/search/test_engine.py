"""Known-answer tests of ProductSearch on the tiny catalogue in conftest.py."""

from __future__ import annotations

import pytest

from shopmind.config import SearchConfig
from shopmind.errors import ConfigError
from shopmind.search.analyzers import Synonyms
from shopmind.search.engine import ProductSearch

from .conftest import ITEMS, HashEncoder


def top(engine: ProductSearch, query: str, mode: str = "bm25", **kw) -> list[str]:
    return engine.search(query, mode=mode, **kw).ids


def test_english_query_finds_the_product(engine):
    assert top(engine, "wireless headphones")[0] == "hp1"
    assert top(engine, "keyboard")[0] == "kb1"
    # stemming: plural query, singular title
    assert top(engine, "speakers")[0] == "sp1"


def test_chinese_substring_word_is_found(engine):
    # jieba keeps 待处理 as one word; the bigram index still finds it for 处理
    res = engine.search("处理", mode="bm25")
    assert res.ids[0] == "zh1"
    assert "<em>处理</em>" in res.hits[0].highlight["title"]
    assert top(engine, "蓝牙耳机")[0] == "zh2"


def test_mixed_language_title(engine):
    assert top(engine, "iphone 手机壳")[0] == "mx1"
    assert top(engine, "手机壳")[0] == "mx1"
    assert top(engine, "magsafe")[0] == "mx1"


def test_typo_is_corrected_against_the_catalogue(engine):
    res = engine.search("wireles headphnes", mode="bm25")
    assert res.corrected_query == "wireless headphones"
    assert res.ids[0] == "hp1"
    # four letters: never corrected
    assert engine.search("sonu", mode="bm25").corrected_query is None


def test_synonym_expands_at_query_time(engine):
    assert "tv1" not in top(engine, "telly")
    engine.set_synonyms(Synonyms(groups=[["telly", "television"]]))
    assert top(engine, "telly")[0] == "tv1"


@pytest.mark.parametrize("query", ["1tb ssd", "1 tb ssd", "1 TB SSD", "1.0 tb ssd"])
def test_unit_variants_match(engine, query):
    assert top(engine, query)[0] == "ssd1"


def test_unit_variant_finds_spaced_form(engine):
    assert top(engine, "2tb")[0] == "ssd2"
    assert top(engine, "55in")[0] == "tv1"


def test_filters(engine):
    assert set(top(engine, "portable ssd", filters={"brand": "Crucial"})) == {"ssd2"}
    assert set(top(engine, "black", filters={"category": "Audio"})) == {"hp1", "sp1"}
    assert set(top(engine, "black", filters={"category": "Audio > Speakers"})) == {"sp1"}
    assert set(top(engine, "black", filters={"price": "100..200"})) == {"sp1", "ssd2"}
    assert "hp1" not in top(engine, "headphones", filters={"in_stock": True})
    assert set(top(engine, "portable", filters={"color": "blue"})) == {"ssd1"}
    with pytest.raises(ConfigError):
        engine.search("x", filters={"price": "cheap"})


def test_facet_counts(engine):
    res = engine.search("black", mode="bm25")
    # black: ssd2, hp1, sp1, tv1
    assert res.total == 4
    f = res.facets
    assert f["brand"] == {"Crucial": 1, "Sony": 1, "JBL": 1, "LG": 1}
    assert f["category"]["Audio"] == 2
    assert f["category"]["Audio > Headphones"] == 1
    assert f["category"]["Computers > Storage"] == 1
    assert f["price"] == {"100..250": 2, "250..500": 1, "1000..2500": 1}
    assert f["attributes"]["color"] == {"black": 4}


def test_disjunctive_facets_keep_the_selected_facets_alternatives(engine):
    # "black" matches ssd2 (Crucial, Computers > Storage, 149), hp1 (Sony, Audio > Headphones, 349),
    # sp1 (JBL, Audio > Speakers, 129) and tv1 (LG, TV > OLED, 1299)
    res = engine.search("black", mode="bm25", filters={"brand": "Sony"})
    assert res.ids == ["hp1"] and res.total == 1
    f = res.facets
    assert f["brand"] == {"Crucial": 1, "Sony": 1, "JBL": 1, "LG": 1}  # every filter except brand's
    assert f["category"] == {"Audio": 1, "Audio > Headphones": 1}  # the other facets: all filters
    assert f["price"] == {"250..500": 1}
    assert f["attributes"]["color"] == {"black": 1}
    # OR within a facet, AND across facets
    res = engine.search("black", mode="bm25", filters={"brand": ["Sony", "JBL"]})
    assert set(res.ids) == {"hp1", "sp1"} and res.facets["brand"]["LG"] == 1
    res = engine.search("black", mode="bm25", filters={"category": "Audio", "brand": ["Sony", "Crucial"]})
    assert res.ids == ["hp1"]
    assert res.facets["brand"] == {"Sony": 1, "JBL": 1}  # black ∧ Audio
    assert res.facets["category"] == {  # black ∧ brand ∈ {Sony, Crucial}
        "Audio": 1, "Audio > Headphones": 1, "Computers": 1, "Computers > Storage": 1
    }  # fmt: skip
    assert res.facets["price"] == {"250..500": 1}
    res = engine.search("black", mode="bm25", filters={"category": ["Audio > Speakers", "TV"]})
    assert set(res.ids) == {"sp1", "tv1"} and res.facets["category"]["Computers > Storage"] == 1
    # a price range is the price facet's selection; in_stock is no facet: it filters every count
    res = engine.search("black", mode="bm25", filters={"price": "100..200", "in_stock": True})
    assert set(res.ids) == {"sp1", "ssd2"}
    assert res.facets["price"] == {"100..250": 2, "1000..2500": 1}  # hp1 is out of stock
    assert res.facets["brand"] == {"Crucial": 1, "JBL": 1}
    # an attribute facet
    res = engine.search("portable ssd", mode="bm25", filters={"color": "blue"})
    assert res.ids == ["ssd1"]
    assert res.facets["attributes"]["color"] == {"blue": 1, "black": 1}
    assert res.facets["brand"] == {"Samsung": 1}
    # a selection nothing matches still shows the alternatives (keyword-only: no semantic fallback)
    keyword = ProductSearch.build(ITEMS, config=SearchConfig(semantic=False))
    res = keyword.search("black", mode="bm25", filters={"brand": "Samsung"})
    assert res.total == 0 and res.facets["brand"]["Sony"] == 1 and res.facets["category"] == {}


def test_disjunctive_facets_in_hybrid_mode(engine):
    plain = engine.search("black", mode="hybrid")
    picked = engine.search("black", mode="hybrid", filters={"brand": "Sony"})
    assert set(picked.ids) <= {"hp1"} | {h.item_id for h in plain.hits if h.brand == "Sony"}
    for brand, n in picked.facets["brand"].items():
        assert 1 <= n <= plain.facets["brand"][brand]
    assert set(picked.facets["brand"]) >= {"Sony", "Crucial", "JBL", "LG"}


def test_pinned_item_goes_to_its_position(engine):
    engine.set_rules([{"query": "headphones", "pin": [{"id": "kb1", "position": 1}], "bury": ["hp1"]}])
    res = engine.search("headphones", mode="bm25")
    assert res.ids[0] == "kb1" and res.hits[0].pinned
    assert res.ids[-1] == "hp1"
    engine.set_rules([{"query": "headphones", "hide": ["hp1"], "boost": ["zh2"]}])
    assert top(engine, "headphones") == ["zh2", "hp2"] or top(engine, "headphones")[0] == "zh2"
    assert "hp1" not in top(engine, "headphones")
    with pytest.raises(ConfigError):
        engine.set_rules([{"query": "x", "pin": [{"id": "kb1", "position": 0}]}])


def test_sorting(engine):
    assert top(engine, "black", sort="price_asc") == ["sp1", "ssd2", "hp1", "tv1"]
    assert top(engine, "black", sort="price") == ["sp1", "ssd2", "hp1", "tv1"]
    assert top(engine, "black", sort="price_desc") == ["tv1", "hp1", "ssd2", "sp1"]
    assert top(engine, "black", sort="newest") == ["ssd2", "tv1", "sp1", "hp1"]
    assert top(engine, "headphones", sort="popularity")[0] == "hp2"
    assert top(engine, "black", sort="rating")[:2] == ["hp1", "sp1"]
    with pytest.raises(ConfigError):
        engine.search("x", sort="colour")


def test_pagination(engine):
    full = engine.search("black", mode="bm25", k=10)
    page = engine.search("black", mode="bm25", k=2, offset=2)
    assert page.total == full.total == 4
    assert page.ids == full.ids[2:4]
    assert [h.position for h in page.hits] == [3, 4]


def test_and_then_or_fallback(engine):
    strict = engine.search("sony headphones", mode="bm25")
    assert strict.fallback is None and strict.ids[0] == "hp1"
    # no product has both words: relaxed to OR and reported
    res = engine.search("samsung television", mode="bm25")
    assert res.fallback == "or"
    assert set(res.ids) == {"ssd1", "tv1"}


def test_zero_results_fall_back_to_semantic(encoder):
    # a word only in a description is not indexed for typo correction or in any field but description…
    engine = ProductSearch.build(ITEMS, config=SearchConfig(min_similarity=0.1), encoder=encoder)
    res = engine.search("qwertyuiop zxcv", mode="bm25")
    assert res.fallback == "semantic"
    assert res.mode == "semantic"
    # without an encoder there is nothing to fall back to: an honest empty result
    plain = ProductSearch.build(ITEMS, config=SearchConfig(semantic=False))
    res2 = plain.search("qwertyuiop zxcv", mode="bm25")
    assert res2.total == 0 and res2.ids == []


def test_highlighting_escapes_and_marks(engine):
    res = engine.search("1 tb portable", mode="bm25")
    hl = res.hits[0].highlight["title"]
    assert hl == "Samsung T7 <em>Portable</em> SSD <em>1TB</em>"
    res = engine.search("keyboard", mode="bm25")
    assert "<em>keyboard</em>" in res.hits[0].highlight["description"]


def test_autocomplete(engine):
    got = [s["text"] for s in engine.suggest("sam")]
    assert "Samsung" in got and "Samsung T7 Portable SSD 1TB" in got
    assert any(s["text"] == "Logitech MX Keys Wireless Keyboard" for s in engine.suggest("wireless k"))
    assert engine.suggest("") == []


def test_incremental_update_and_delete(engine, tmp_path, encoder):
    engine.upsert(
        [{"id": "sp2", "title": "Anker Soundcore Bluetooth Speaker", "brand": "Anker", "price": 39.0}]
    )
    assert set(top(engine, "bluetooth speaker")) == {"sp1", "sp2"}
    # a change replaces the old version
    engine.upsert([{"id": "sp1", "title": "JBL Flip 6 Party Box", "brand": "JBL", "price": 129.0}])
    assert top(engine, "bluetooth speaker") == ["sp2"]
    assert top(engine, "party box") == ["sp1"]
    engine.delete(["sp2"])
    assert top(engine, "bluetooth speaker") == []
    assert "sp2" not in top(engine, "soundcore", mode="hybrid")
    # the delta survives save/load with rows aligned
    engine.save(tmp_path / "s")
    again = ProductSearch.load(tmp_path / "s", encoder=encoder)
    assert top(again, "party box") == ["sp1"]
    assert top(again, "bluetooth speaker") == []
    assert again.search("party box").hits[0].price == 129.0


def test_personalisation_reorders_by_affinity(engine):
    # "black" only matches the colour attribute: four equally relevant products
    base = top(engine, "black", mode="bm25")
    boosted = top(engine, "black", mode="bm25", affinity={"brand:LG": 1.0})
    assert boosted[0] == "tv1" and set(base) == set(boosted)
    by_cat = top(engine, "black", mode="bm25", affinity={"category:Audio": 1.0, "brand:LG": 0.2})
    assert set(by_cat[:2]) == {"hp1", "sp1"} and by_cat[2] == "tv1"
    with pytest.raises(ConfigError):
        engine.search("headphones", affinity={"colour:red": 1.0})


def test_hybrid_combines_both_retrievers(engine):
    res = engine.search("portable ssd", mode="hybrid")
    assert set(res.ids[:2]) == {"ssd1", "ssd2"}
    sem = engine.search("portable ssd", mode="semantic")
    assert sem.mode == "semantic" and sem.ids[0] in {"ssd1", "ssd2"}


def test_save_load_roundtrip_gives_same_results(engine, tmp_path, encoder):
    engine.save(tmp_path / "idx")
    again = ProductSearch.load(tmp_path / "idx", encoder=encoder)
    for q in ("black", "处理", "1 tb", "wireles headphnes"):
        for mode in ("bm25", "hybrid"):
            assert again.search(q, mode=mode).ids == engine.search(q, mode=mode).ids
    assert not list((tmp_path / "idx").rglob("*.pkl"))


def test_bad_mode_and_config():
    with pytest.raises(ConfigError):
        SearchConfig(fusion="max")
    e = ProductSearch.build(ITEMS[:2], config=SearchConfig(semantic=False))
    with pytest.raises(ConfigError):
        e.search("ssd", mode="magic")
    with pytest.raises(ConfigError):
        e.search("ssd", mode="semantic")
    # hybrid without vectors degrades to keywords
    assert e.search("ssd", mode="hybrid").mode == "bm25"


def test_weighted_fusion_config(encoder):
    e = ProductSearch.build(ITEMS, config=SearchConfig(fusion="weighted", alpha=0.7), encoder=encoder)
    assert e.search("portable ssd").ids[0] in {"ssd1", "ssd2"}


def test_result_to_dict(engine):
    d = engine.search("black").to_dict()
    assert {"hits", "total", "facets", "corrected_query", "fallback", "search_id", "took_ms"} <= set(d)
    assert d["hits"][0]["item_id"]


def test_hash_encoder_is_deterministic():
    a = HashEncoder().encode(["x y"])
    b = HashEncoder().encode(["x y"])
    assert (a == b).all()
