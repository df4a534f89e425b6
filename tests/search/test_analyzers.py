"""Analyzer rules: normalisation, stemming, units, Chinese bigrams, mixed text, synonyms."""

from __future__ import annotations

import pytest

from shopmind.errors import ConfigError
from shopmind.search.analyzers import Analyzer, Synonyms, flatten_groups


@pytest.fixture(scope="module")
def an() -> Analyzer:
    return Analyzer()


def test_english_stems_and_drops_stop_words(an):
    assert an.analyze("The Batteries for Laptops") == ["batteri", "laptop"]


@pytest.mark.parametrize("text", ["1tb", "1 tb", "1 TB", "1TB", "1.0 TB", "１ＴＢ", "1 terabyte"])
def test_number_unit_variants_give_one_term(an, text):
    assert an.analyze(text) == ["1tb"]


def test_other_units(an):
    assert an.analyze('16 GB RAM 55" 2.5 inch 5000mAh') == ["16gb", "ram", "55in", "2.5in", "5000mah"]


def test_model_numbers_keep_joined_form(an):
    assert an.analyze("Brother TN-2110 toner") == ["brother", "tn", "2110", "tn2110", "toner"]


def test_chinese_search_mode_plus_bigrams(an):
    terms = an.analyze("待处理")
    assert "待处理" in terms and "处理" in terms and "待处" in terms
    assert an.analyze("书") == ["书"]


def test_query_groups_for_chinese_word_accept_bigrams(an):
    groups = an.query_groups("蓝牙耳机")
    flat = flatten_groups(groups)
    assert {"蓝牙", "耳机"} <= set(flat)
    assert all(w > 0 for w in flat.values())


def test_mixed_title_is_split_by_script(an):
    terms = an.analyze("Apple iPhone 15 手机壳 256GB")
    assert terms[:3] == ["appl", "iphon", "15"]
    assert "手机" in terms and "机壳" in terms and "256gb" in terms  # jieba word + bigram


def test_synonyms_expand_within_the_word_group(an):
    syn = Synonyms(groups=[["tv", "television"]], one_way={"laptop": ["notebook"]})
    groups = an.query_groups("cheap tv", syn.mapping())
    assert [g.word for g in groups] == ["cheap", "tv"]
    assert groups[1].term_set == {"tv", "televis"}
    groups = an.query_groups("laptop", syn.mapping())
    assert groups[0].term_set == {"laptop", "notebook"}
    # one-way: notebook does not expand to laptop
    assert an.query_groups("notebook", syn.mapping())[0].term_set == {"notebook"}


def test_bad_synonym_group():
    with pytest.raises(ConfigError):
        Synonyms(groups=[["alone"]]).mapping()


def test_synonyms_roundtrip():
    syn = Synonyms(groups=[["a b", "c"]], one_way={"x": ["y"]})
    assert Synonyms.from_dict(syn.to_dict()) == syn
