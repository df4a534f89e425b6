"""The shared text layer: normalisation, CJK ranges and runs, language, segmentation, tokenisers.

The last tests pin that search, recommend and the assistant read Chinese through this one module:
every ideograph range reaches all of them, and no capability keeps a range of its own.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest

from shopmind.recommend.content import tokenize as content_tokens
from shopmind.recommend.content import tokenize_jieba as content_jieba_tokens
from shopmind.search.analyzers import Analyzer
from shopmind.text import (
    CJK_RANGES,
    CJK_RE,
    TERM_RE,
    char_bigrams,
    char_ngrams,
    detect_language,
    has_cjk,
    normalize,
    segment,
    segment_for_search,
    split_scripts,
    tokenize,
)
from shopmind.text_classifier import word_ngrams

SRC = Path(__file__).resolve().parents[1] / "src" / "shopmind"

# first and last code point of every ideograph range, and one ideograph from each extension
IDEOGRAPHS = [
    "\u3007",  # 〇 IDEOGRAPHIC NUMBER ZERO
    "\u3400",  # Extension A, first
    "\u4dbf",  # Extension A, last
    "\u4e00",  # URO, first
    "\u9fa5",  # URO, last of the GB-era block
    "\u9fff",  # URO, last
    "\uf900",  # compatibility ideograph (NFKC → U+8C48)
    "\ufa0e",  # compatibility block, but a unified ideograph (NFKC keeps it)
    "\U00020000",  # Extension B
    "\U0002a700",  # Extension C
    "\U0002b740",  # Extension D
    "\U0002b820",  # Extension E
    "\U0002ceb0",  # Extension F
    "\U0002f800",  # Compatibility Ideographs Supplement
    "\U00030000",  # Extension G
    "\U00031350",  # Extension H
]
NOT_IDEOGRAPHS = [
    "\u4dc0",  # ䷀ Yijing hexagram symbol (between Extension A and the URO)
    "\u3001",  # 、 ideographic comma
    "\u3002",  # 。 ideographic full stop
    "\uff0c",  # ， full-width comma
    "\u3042",  # あ hiragana
    "\ud55c",  # 한 hangul
    "\u2e80",  # ⺀ CJK radical
    "a",
    "7",
]


def test_normalize_folds_full_width_and_case():
    assert normalize("ＡＢＣ１２３ Ｔｂ") == "abc123 tb"
    assert normalize("\uf900") == "\u8c48"  # compatibility ideograph → its unified ideograph


@pytest.mark.parametrize("ch", IDEOGRAPHS)
def test_every_ideograph_range_is_cjk(ch):
    assert CJK_RE.fullmatch(ch) and has_cjk(f"x{ch}y")


@pytest.mark.parametrize("ch", NOT_IDEOGRAPHS)
def test_symbols_kana_hangul_and_punctuation_are_not_cjk(ch):
    assert not has_cjk(ch)


def test_ranges_are_ordered_and_disjoint():
    bounds = [(a, b) for a, b, _ in CJK_RANGES]
    assert all(a <= b for a, b in bounds)
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(bounds))


def test_split_scripts_keeps_order_and_one_side_per_run():
    assert split_scripts("iPhone 15 手机壳 256GB") == [("", "iPhone 15 "), ("手机壳", ""), ("", " 256GB")]
    assert split_scripts("") == []
    assert split_scripts("。，!!") == [("", "。，!!")]
    assert split_scripts("\u3400中\U00020000") == [("\u3400中\U00020000", "")]  # one run across ranges


def test_detect_language():
    assert detect_language("where is my parcel") == "en"
    assert detect_language("我的包裹在哪里") == "zh"
    assert detect_language("Apple iPhone 手机壳") == "zh"  # 3 of 14 letters ≥ 20 %
    assert detect_language("\U00020000\U00020001") == "zh"  # Extension B counts as Chinese
    assert detect_language("") == "en" and detect_language("?!。，") == "en"


def test_segmentation_of_one_run():
    assert segment("手机壳") == ("手机", "壳")
    assert segment("中") == ("中",)
    assert segment_for_search("中华人民共和国")[-1] == "中华人民共和国"
    assert "人民" in segment_for_search("中华人民共和国")
    assert char_bigrams("手机壳") == ["手机", "机壳"] and char_bigrams("手") == []
    assert char_ngrams("手机壳") == ["手", "机", "壳", "手机", "机壳"]
    assert char_ngrams("") == []


def test_tokenize_mixed_chinese_english():
    assert tokenize("Apple iPhone 15 手机壳 256GB") == ["apple", "iphone", "15", "手机", "壳", "256gb"]
    toks = tokenize("我的订单ORD-1到哪了")
    assert "订单" in toks and "ord" in toks and toks.index("订单") < toks.index("ord")
    assert tokenize("手机壳", chinese="ngrams") == ["手", "机", "壳", "手机", "机壳"]


def test_tokenize_full_width():
    assert tokenize("ＡＢＣ１２３ 手機殼") == ["abc123", "手機殼"]
    assert tokenize("ｉＰｈｏｎｅ", words=TERM_RE) == ["iphone"]


def test_tokenize_extension_and_compatibility_ideographs():
    # Extension B was dropped (assistant) or read as one Latin "word" (recommend) before
    assert tokenize("\U00020000\U00020001 abc", chinese="ngrams") == [
        "\U00020000",
        "\U00020001",
        "\U00020000\U00020001",
        "abc",
    ]
    assert tokenize("\u3400中国") == ["\u3400", "中国"]  # jieba leaves Extension A characters single
    assert tokenize("\uf900") == ["\u8c48"]


def test_tokenize_word_patterns():
    assert tokenize("don't a b 7 ok") == ["don't", "a", "b", "7", "ok"]
    assert tokenize("don't a b 7 ok", words=TERM_RE) == ["don", "7", "ok"]


@pytest.mark.parametrize("text", ["", "   ", "，。！？…!!", "\u4dc0\u4dc1", "---"])
def test_punctuation_and_empty_give_no_tokens(text):
    assert tokenize(text) == []
    assert tokenize(text, chinese="ngrams", words=TERM_RE) == []
    assert Analyzer().analyze(text) == []


def test_word_ngrams():
    assert word_ngrams("track my parcel", 2) == ["track", "my", "parcel", "track my", "my parcel"]


# ---------------------------------------------------------------- one reading for every capability
@pytest.mark.parametrize("ch", IDEOGRAPHS)
def test_every_capability_keeps_every_ideograph(ch):
    folded = normalize(ch)
    text = f"case {ch}{ch} x"
    assert any(folded in t for t in Analyzer().analyze(text))  # search index terms
    assert any(folded in g.word for g in Analyzer().query_groups(text))  # search query words
    assert folded in content_tokens(text) and folded * 2 in content_tokens(text)  # recommend, n-grams
    assert folded in "".join(content_jieba_tokens(text))  # recommend, jieba
    assert folded in "".join(tokenize(text))  # assistant / sentiment TF-IDF words


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_text_layer_sits_below_every_capability():
    for name in ("text.py", "text_classifier.py"):
        own = {m for m in _imports(SRC / name) if m.startswith("shopmind")}
        assert own <= {"shopmind.errors", "shopmind.text"}, (name, own)


def test_content_imports_nothing_from_the_assistant():
    for path in (SRC / "content").glob("*.py"):
        assert not {m for m in _imports(path) if m.startswith("shopmind.assistant")}, path


def test_no_other_cjk_range_in_the_package():
    # an ideograph block boundary written as an escape (a range or a comparison) outside shopmind/text.py
    pattern = re.compile(r"\\u(?:3400|4dbf|4e00|9fa5|9fff|f900|faff)|\\U00020000", re.IGNORECASE)
    for path in SRC.rglob("*.py"):
        if path != SRC / "text.py":
            assert not pattern.search(path.read_text(encoding="utf-8")), path
