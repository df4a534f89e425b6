"""Text processing shared by every capability: normalisation, language, CJK runs, segmentation, tokens.

This module sits below search, recommend, assistant and content (it imports only the standard
library and, lazily, jieba), so every part of the system reads Chinese and mixed text the same way.

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
from functools import lru_cache
from typing import Any, Literal

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

_JIEBA_LOCK = threading.Lock()


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
