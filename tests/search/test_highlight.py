"""Highlighting: joined forms (units, model numbers) and the analysis it skips for plain word pairs."""

from __future__ import annotations

from shopmind.search.analyzers import Analyzer
from shopmind.search.highlight import highlight


def _terms(analyzer: Analyzer, query: str) -> set[str]:
    return {t for g in analyzer.query_groups(query, {}) for t in g.term_set}


def test_joined_forms_are_highlighted():
    a = Analyzer()
    assert highlight("Samsung T7 SSD 1 TB", _terms(a, "1tb"), a) == "Samsung T7 SSD <em>1 TB</em>"
    assert highlight("Brother TN-2110 toner", _terms(a, "tn2110"), a) == "Brother <em>TN-2110</em> toner"
    assert highlight("Anker USB-C cable", _terms(a, "usbc"), a) == "Anker <em>USB-C</em> cable"
    assert highlight("Dell 15.6inch laptop", _terms(a, "15.6 inch"), a) == "Dell <em>15.6inch</em> laptop"


def test_plain_word_pairs_only_match_their_words():
    a = Analyzer()
    got = highlight("Wireless Headphones & <b>Speakers</b>", _terms(a, "speaker wireless"), a)
    assert got == "<em>Wireless</em> Headphones &amp; &lt;b&gt;<em>Speakers</em>&lt;/b&gt;"
    assert highlight("Portable Speaker", _terms(a, "portablespeaker"), a) == "Portable Speaker"
