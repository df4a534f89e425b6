"""Typo tolerance: a symmetric-delete (SymSpell) index over the catalogue's own words.

Rule (as Meilisearch/Typesense): words shorter than 5 characters are never corrected, 5–8 characters
allow one edit, 9 or more allow two. Edits are Damerau–Levenshtein (insert, delete, substitute,
swap adjacent). Only words the index does not know are corrected, words with digits (model numbers
such as ``tn2110``) never are, and Chinese is left alone (bigrams already give partial matching).

Symmetric delete (Garbe 2012, SymSpell): every vocabulary word is stored under each string obtained
by deleting up to ``d`` of its characters; a misspelling ``q`` is looked up under its own deletes, and
two strings within distance ``d`` always share such a delete. Candidates are then verified with the
true distance; the closest wins, ties go to the more frequent word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from shopmind.text import normalize

_WORD = re.compile(r"[a-z]+")


def max_edits(word: str) -> int:
    """Allowed edits for a word of this length: 0 below 5, 1 for 5–8, 2 from 9 characters."""
    n = len(word)
    return 0 if n < 5 else 1 if n <= 8 else 2


def _deletes(word: str, depth: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        nxt = set()
        for w in frontier:
            for i in range(len(w)):
                nxt.add(w[:i] + w[i + 1 :])
        out |= nxt
        frontier = nxt
    return out


def damerau_levenshtein(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance (adjacent swaps count 1); stops early above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


class TypoCorrector:
    """Corrects unknown query words to the closest frequent catalogue word (see module docstring)."""

    def __init__(self, frequencies: Mapping[str, int]) -> None:
        self.freq: dict[str, int] = {w: int(c) for w, c in frequencies.items() if w}
        self._deletes: dict[str, list[str]] = {}
        for w in self.freq:
            d = max_edits(w)
            if d == 0:
                continue
            for key in _deletes(w, d):
                self._deletes.setdefault(key, []).append(w)

    @staticmethod
    def words_of(texts: Iterable[str | None]) -> Counter[str]:
        """Letter-only words (length ≥ 2) of ``texts`` with their counts: the correction vocabulary."""
        counts: Counter[str] = Counter()
        for t in texts:
            if t:
                counts.update(w for w in _WORD.findall(normalize(t)) if len(w) >= 2)
        return counts

    def add(self, texts: Iterable[str | None]) -> None:
        """Add words of new documents (incremental updates)."""
        for w, c in self.words_of(texts).items():
            if w not in self.freq:
                d = max_edits(w)
                for key in _deletes(w, d) if d else ():
                    self._deletes.setdefault(key, []).append(w)
            self.freq[w] = self.freq.get(w, 0) + c

    def correct_word(self, word: str) -> str | None:
        """The correction for ``word`` or ``None`` (known word, too short, has digits, nothing close)."""
        if word in self.freq or not word.isascii() or not word.isalpha():
            return None
        d = max_edits(word)
        if d == 0:
            return None
        best: tuple[int, int, str] | None = None
        for key in _deletes(word, d):
            for cand in self._deletes.get(key, ()):
                dist = damerau_levenshtein(word, cand, d)
                if dist > d:
                    continue
                rank = (dist, -self.freq[cand], cand)
                if best is None or rank < best:
                    best = rank
        return None if best is None else best[2]

    def correct(self, query: str) -> tuple[str, dict[str, str]]:
        """``(corrected query, {wrong: right})``; Latin words only, other text kept as typed."""
        text = normalize(query)
        fixes: dict[str, str] = {}

        def fix(m: re.Match[str]) -> str:
            w = m.group(0)
            c = self.correct_word(w)
            if c is None:
                return w
            fixes[w] = c
            return c

        out = re.sub(r"(?<![a-z0-9])[a-z]+(?![a-z0-9])", fix, text)
        return (out if fixes else query), fixes
