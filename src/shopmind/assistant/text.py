"""Text helpers shared by the assistant and content modules: language detection and tokenisation.

Chinese has no spaces, so word features come from jieba segmentation of CJK runs (the same
segmenter the search analyzers use); Latin runs are lower-cased words. Character n-grams
(``char_wb``) complement word features for both scripts and absorb typos.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RE = re.compile(f"[{_CJK}]")
_TOKEN_RE = re.compile(f"[{_CJK}]+|[a-z0-9]+(?:['’][a-z]+)?", re.IGNORECASE)
_JIEBA_LOCK = threading.Lock()


def detect_language(text: str) -> str:
    """``"zh"`` when at least 20 % of the letters are CJK ideographs (mixed titles are common), else ``"en"``."""
    letters = sum(ch.isalpha() for ch in text)
    if not letters:
        return "en"
    cjk = len(CJK_RE.findall(text))
    return "zh" if cjk / letters >= 0.2 else "en"


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _JIEBA_LOCK:
        jieba.initialize()
    return jieba


@lru_cache(maxsize=65536)
def _segment(run: str) -> tuple[str, ...]:
    return tuple(w for w in _jieba().lcut(run) if w.strip())


def word_tokens(text: str) -> list[str]:
    """Lower-cased Latin words and jieba-segmented Chinese words, in order.

    A module-level function (not a lambda) so TF-IDF vectorisers that use it can be rebuilt from a
    saved vocabulary without pickle.
    """
    out: list[str] = []
    for tok in _TOKEN_RE.findall(text.lower()):
        if CJK_RE.match(tok):
            out.extend(_segment(tok))
        else:
            out.append(tok)
    return out


def word_ngrams(text: str, n_max: int = 2) -> list[str]:
    """Word uni- to ``n_max``-grams of :func:`word_tokens` (the analyzer of the word TF-IDF model)."""
    toks = word_tokens(text)
    grams = list(toks)
    for n in range(2, n_max + 1):
        grams.extend(" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return grams


def word_bigram_analyzer(text: str) -> list[str]:
    return word_ngrams(text, 2)


def word_trigram_analyzer(text: str) -> list[str]:
    return word_ngrams(text, 3)


def word_unigram_analyzer(text: str) -> list[str]:
    return word_tokens(text)


WORD_ANALYZERS = {1: word_unigram_analyzer, 2: word_bigram_analyzer, 3: word_trigram_analyzer}
