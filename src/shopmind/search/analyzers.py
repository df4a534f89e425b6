"""Text analysis for search: English, Chinese and mixed-language text, units and synonyms.

One :class:`Analyzer` turns text into index terms; the same code runs at index and at query time so
that both sides agree.

* **Normalisation**: Unicode NFKC (full-width ``ＡＢＣ１２`` → ``abc12``), lower-casing
  (:func:`shopmind.text.normalize`).
* **English / Latin script**: alphanumeric tokens; stop words removed; pure-letter tokens stemmed
  with the Snowball English stemmer (PyStemmer); hyphenated model numbers also index their joined
  form (``tn-2110`` → ``tn``, ``2110``, ``tn2110``).
* **Numbers with units**: ``1tb``, ``1 tb``, ``1 TB``, ``1.0 TB`` all become the single term ``1tb``;
  unit aliases map to one spelling (``inch``/``in``/``"`` → ``in``, ``gig`` → ``gb`` …).
* **Chinese** (runs of :data:`shopmind.text.CJK_RANGES` ideographs): jieba search-mode segmentation
  (``cut_for_search`` yields the long word and its sub-words) **plus character bigrams** of the run,
  de-duplicated per run. Word-only segmentation misses "待处理" for the query "处理" when jieba keeps
  "待处理" whole; the bigram "处理" is always indexed, so recall no longer depends on the segmenter's
  choice. A one-character run indexes the character.
* **Mixed titles** (``Apple iPhone 15 手机壳 256GB``): the text is split into CJK and non-CJK runs
  first (:func:`shopmind.text.split_scripts`) and each run gets its own analysis, so jieba never sees
  Latin words. Segmentation and bigrams are :mod:`shopmind.text`'s, shared with the other capabilities.
* **Synonyms** (:class:`Synonyms`, per shop): expanded at query time only, so changing them needs
  no re-index. Each query word becomes a *group* of alternative terms; a document "matches the word"
  when it has any term of the group.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shopmind.errors import ConfigError
from shopmind.text import char_bigrams, normalize, segment, segment_for_search, split_scripts

log = logging.getLogger(__name__)

# Alphanumeric words, a decimal point inside a number, and the joiners we want to see (- / ").
_LATIN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?(?:[-/][a-z0-9]+(?:\.[0-9]+)?)*|\"")
_NUM = re.compile(r"^\d+(?:\.\d+)?$")
_NUM_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([a-z]+)$")

UNITS: dict[str, str] = {
    "tb": "tb", "terabyte": "tb", "terabytes": "tb",
    "gb": "gb", "gig": "gb", "gigs": "gb", "gigabyte": "gb", "gigabytes": "gb",
    "mb": "mb", "megabyte": "mb", "megabytes": "mb", "kb": "kb",
    "mah": "mah", "wh": "wh", "w": "w", "watt": "w", "watts": "w", "kw": "kw",
    "v": "v", "volt": "v", "volts": "v", "a": "a", "amp": "a", "amps": "a",
    "mm": "mm", "cm": "cm", "m": "m", "km": "km", "in": "in", "inch": "in", "inches": "in", '"': "in",
    "ft": "ft", "kg": "kg", "g": "g", "gram": "g", "grams": "g", "lb": "lb", "lbs": "lb", "oz": "oz",
    "hz": "hz", "khz": "khz", "mhz": "mhz", "ghz": "ghz", "ml": "ml", "l": "l",
    "mp": "mp", "k": "k", "p": "p", "x": "x", "pcs": "pcs", "pc": "pcs", "pack": "pack",
    "gbps": "gbps", "mbps": "mbps", "rpm": "rpm", "db": "db",
}  # fmt: skip
"""Unit aliases → canonical unit; a number directly followed by one of these becomes one term."""

ENGLISH_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
        "from",
        "your",
        "you",
        "our",
        "we",
        "i",
        "me",
        "my",
    ]
)
"""A short Lucene-like list; product words (``top``, ``case``, ``back``) are deliberately kept."""


@lru_cache(maxsize=1)
def _stemmer() -> Any:  # PyStemmer ships no type hints
    import Stemmer

    return Stemmer.Stemmer("english")


def _canonical_number(num: str) -> str:
    if "." in num:
        num = num.rstrip("0").rstrip(".")
    return num or "0"


@dataclass(frozen=True)
class QueryGroup:
    """One query word and its alternatives: a document matches the word when it has any term."""

    word: str
    terms: tuple[tuple[str, float], ...]

    @property
    def term_set(self) -> frozenset[str]:
        return frozenset(t for t, _ in self.terms)


@dataclass
class Synonyms:
    """Per-shop synonyms, expanded at query time.

    ``groups``: equivalence sets (every phrase expands to all the others), e.g.
    ``[["tv", "television"], ["laptop", "notebook"]]``; ``one_way``: ``{"phone": ["smartphone"]}``
    expands only left → right. Phrases are analyzed with the index analyzer, so stemming and units
    apply to them too. A single-term key is expanded inside that word's group; a multi-term key
    adds its expansions to the group of its first word.
    """

    groups: list[list[str]] = field(default_factory=list)
    one_way: dict[str, list[str]] = field(default_factory=dict)

    def mapping(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for group in self.groups:
            if not isinstance(group, (list, tuple)) or len(group) < 2:
                raise ConfigError("a synonym group needs two or more phrases", value=group)
            for phrase in group:
                out.setdefault(normalize(phrase).strip(), []).extend(
                    normalize(p).strip() for p in group if p != phrase
                )
        for key, values in self.one_way.items():
            out.setdefault(normalize(key).strip(), []).extend(normalize(v).strip() for v in values)
        return out

    def to_dict(self) -> dict[str, object]:
        return {"groups": self.groups, "one_way": self.one_way}

    @classmethod
    def from_dict(cls, d: Mapping[str, object] | None) -> Synonyms:
        d = d or {}
        return cls(groups=list(d.get("groups", []) or []), one_way=dict(d.get("one_way", {}) or {}))  # type: ignore[call-overload,arg-type]


class Analyzer:
    """English + Chinese analyzer (see the module docstring for the rules)."""

    def __init__(self, *, stem: bool = True, stop_words: Iterable[str] | None = None) -> None:
        self.stem = stem
        self.stop_words = frozenset(ENGLISH_STOP_WORDS if stop_words is None else stop_words)
        self._cache: dict[str, str] = {}
        self._short: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ latin
    def _stem(self, word: str) -> str:
        if not self.stem or not word.isalpha():
            return word
        got = self._cache.get(word)
        if got is None:
            got = _stemmer().stemWord(word)
            if len(self._cache) < 200_000:
                self._cache[word] = got
        return got

    def latin_words(self, text: str) -> list[list[str]]:
        """Latin words of already-normalised text, each as its list of index terms.

        Numbers followed by a unit merge with it; ``a-b`` gives ``a``, ``b`` and ``ab``.
        """
        raw = _LATIN.findall(text)
        words: list[list[str]] = []
        i = 0
        n = len(raw)
        stop = self.stop_words
        while i < n:
            tok = raw[i]
            if tok.isalpha():  # fast path: most tokens are plain words (never start a unit merge)
                i += 1
                if tok not in stop and tok != '"':
                    words.append([self._stem(tok)])
                continue
            nxt = raw[i + 1] if i + 1 < n else None
            if _NUM.match(tok) and nxt is not None and nxt in UNITS:
                words.append([_canonical_number(tok) + UNITS[nxt]])
                i += 2
                continue
            i += 1
            if tok == '"':
                continue
            m = _NUM_UNIT.match(tok)
            if m and m.group(2) in UNITS:
                words.append([_canonical_number(m.group(1)) + UNITS[m.group(2)]])
                continue
            if "-" in tok or "/" in tok:
                parts = [p for p in re.split(r"[-/]", tok) if p]
                terms = [self._stem(p) for p in parts if p not in self.stop_words]
                joined = "".join(parts)
                if len(parts) > 1:
                    terms.append(joined)
                if terms:
                    words.append(terms)
                continue
            if tok in self.stop_words:
                continue
            words.append([self._stem(tok)])
        return words

    # ------------------------------------------------------------------ chinese
    @staticmethod
    def han_terms(run: str) -> list[str]:
        """Index terms of one CJK run: jieba search-mode words + character bigrams, de-duplicated."""
        if len(run) == 1:
            return [run]
        return list(dict.fromkeys([*segment_for_search(run), *char_bigrams(run)]))

    @staticmethod
    def han_words(run: str) -> list[str]:
        """Accurate-mode jieba words of one CJK run (the query's "words")."""
        return list(segment(run))

    # ------------------------------------------------------------------ public
    def analyze(self, text: str | None) -> list[str]:
        """Index terms of ``text`` in order (with repeats: term frequency matters for BM25)."""
        if not text:
            return []
        if len(text) <= 48:  # brands, attribute values, categories repeat across a catalogue
            got = self._short.get(text)
            if got is None:
                got = self._analyze(text)
                if len(self._short) < 100_000:
                    self._short[text] = got
            return list(got)
        return self._analyze(text)

    def _analyze(self, text: str) -> list[str]:
        text = normalize(text)
        out: list[str] = []
        for han, other in split_scripts(text):
            if han:
                out.extend(self.han_terms(han))
            else:
                for terms in self.latin_words(other):
                    out.extend(terms)
        return out

    def analyze_many(self, texts: Sequence[str | None]) -> list[list[str]]:
        return [self.analyze(t) for t in texts]

    def query_groups(self, query: str, synonyms: Mapping[str, list[str]] | None = None) -> list[QueryGroup]:
        """The query as word groups (see :class:`QueryGroup`), synonyms expanded.

        Han words keep their own term and their bigrams as alternatives, so "处理" matches an
        indexed "待处理" through the bigram "处理".
        """
        text = normalize(query)
        groups: list[QueryGroup] = []
        for han, other in split_scripts(text):
            if han:
                for w in self.han_words(han):
                    alts = [w, *(bg for bg in char_bigrams(w) if bg != w)] if len(w) > 1 else [w]
                    groups.append(QueryGroup(w, tuple((t, 1.0 if t == w else 0.5) for t in alts)))
            else:
                for terms in self.latin_words(other):
                    groups.append(QueryGroup(terms[0], tuple((t, 1.0) for t in dict.fromkeys(terms))))
        if synonyms:
            groups = self._expand(text, groups, synonyms)
        return groups

    def _expand(
        self, text: str, groups: list[QueryGroup], synonyms: Mapping[str, list[str]]
    ) -> list[QueryGroup]:
        out = list(groups)
        for key, values in synonyms.items():
            key_terms = self.analyze(key)
            if not key_terms:
                continue
            # the key matches when its terms appear consecutively among the query's first terms
            firsts = [g.terms[0][0] for g in out]
            n = len(key_terms)
            for start in range(len(firsts) - n + 1):
                if firsts[start : start + n] == key_terms:
                    extra = [(t, 1.0) for v in values for t in self.analyze(v)]
                    g = out[start]
                    merged = dict(g.terms)
                    for t, w in extra:
                        merged.setdefault(t, w)
                    out[start] = QueryGroup(g.word, tuple(merged.items()))
                    break
        return out


def flatten_groups(groups: Sequence[QueryGroup]) -> dict[str, float]:
    """Unique query terms with their weight (max over groups)."""
    out: dict[str, float] = {}
    for g in groups:
        for t, w in g.terms:
            out[t] = max(out.get(t, 0.0), w)
    return out
