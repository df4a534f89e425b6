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
* **Chinese** (runs of :data:`shopmind.text.CJK_RANGES` ideographs): a :class:`shopmind.text.Segmenter`
  (jieba by default, Baidu LAC with ``search.segmenter = "lac"``) in search mode (each word and the
  sub-words of the long ones), with the catalogue's user dictionary (brands and product lines:
  :func:`catalogue_words`) kept whole, **plus character bigrams** of the run, **plus each
  word's head term** (:func:`head_term` of :func:`shopmind.text.head_character`: 运动袜 → ``#袜``,
  "a word headed by 袜"; a term of its own, so a lone 袜 elsewhere in a title is not one), de-duplicated
  per run.
  Word-only segmentation misses "待处理" for the query "处理" when jieba keeps "待处理" whole; the bigram
  "处理" is always indexed, so recall no longer depends on the segmenter's choice. A one-character run
  indexes the character.
* **Head back-off** (query side): a Chinese query word the index does not hold as a term ("袜子" where
  titles say "运动袜" and "短袜") also accepts its head term (``#袜``), so the word matches the
  products whose words have that head; a one-character query word ("袜") accepts its head term too.
  Words the index knows are not widened.
* **Letter–digit query words** (``iphone15``, ``rtx4090``, ``15pro``: three letters or more, a product
  name and its generation): the letters and the digits are separate query words, each with the glued
  form as an alternative, so the query "iPhone15手机壳" finds "iPhone 15 手机壳" and "iPhone15手机壳".
  Documents keep the glued word only: indexing the parts too would let "iphone" match every
  "iPhone4" accessory (measured in docs/benchmarks.md). One- and two-letter prefixes are
  model-code series (``tn2110``, ``a7``) and stay one word.
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from shopmind.errors import ConfigError
from shopmind.text import Segmenter, char_bigrams, head_character, normalize, split_scripts

log = logging.getLogger(__name__)

# Alphanumeric words, a decimal point inside a number, and the joiners we want to see (- / ").
_LATIN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?(?:[-/][a-z0-9]+(?:\.[0-9]+)?)*|\"")
_NUM = re.compile(r"^\d+(?:\.\d+)?$")
_NUM_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([a-z]+)$")
_LETTERS_DIGITS = re.compile(r"^([a-z]{3,})(\d+)$|^(\d+)([a-z]{3,})$")

HEAD_WEIGHT = 0.5
"""Query-term weight of a head-term back-off (as a bigram alternative: below the word itself)."""

HEAD_MARK = "#"
"""Prefix of head terms (``#袜``); no analyzed word contains it, so they never meet a word's own term."""


def head_term(head: str) -> str:
    """The index term meaning "a word whose head character is ``head``" (``#袜``)."""
    return HEAD_MARK + head


PRODUCT_LINE_KEYS = frozenset(
    ["series", "line", "product_line", "collection", "range", "model_name", "系列", "品牌", "产品线"]
)
"""Attribute keys whose values name a product line (user-dictionary words, :func:`catalogue_words`)."""

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

    def __init__(
        self,
        *,
        stem: bool = True,
        stop_words: Iterable[str] | None = None,
        segmenter: Segmenter | None = None,
        head_backoff: bool = True,
    ) -> None:
        self.stem = stem
        self.stop_words = frozenset(ENGLISH_STOP_WORDS if stop_words is None else stop_words)
        self.segmenter = segmenter or Segmenter()
        self.head_backoff = head_backoff
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

    def latin_words(self, text: str, *, split_glued: bool = False) -> list[list[str]]:
        """Latin words of already-normalised text, each as its list of index terms.

        Numbers followed by a unit merge with it; ``a-b`` gives ``a``, ``b`` and ``ab``;
        ``split_glued`` (queries) splits letter–digit words (module docstring).
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
            m = _LETTERS_DIGITS.match(tok) if split_glued else None
            if m:  # iphone15 -> [iphon, iphone15], [15, iphone15]: the glued word matches both
                first, second = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
                words.extend([self._stem(part), tok] for part in (first, second) if part not in stop)
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
    def han_terms(self, run: str) -> list[str]:
        """Index terms of one CJK run: search-mode words, character bigrams and (``head_backoff``) each
        word's head term, de-duplicated."""
        if len(run) == 1:
            return [run]
        terms = [*self.segmenter.cut_for_search(run), *char_bigrams(run)]
        if self.head_backoff:
            terms.extend(head_term(h) for w in self.segmenter.cut(run) if (h := head_character(w)))
        return list(dict.fromkeys(terms))

    def han_words(self, run: str) -> list[str]:
        """Accurate-mode words of one CJK run (the query's "words"), user-dictionary words whole."""
        return list(self.segmenter.cut(run))

    # ------------------------------------------------------------------ settings
    @classmethod
    def for_catalogue(
        cls, records: Iterable[Mapping[str, Any]], *, segmenter: str = "jieba", user_dictionary: bool = True
    ) -> Analyzer:
        """The analyzer of a catalogue's index: ``segmenter`` with the catalogue's words
        (:func:`catalogue_words`) as its user dictionary when ``user_dictionary``."""
        words = catalogue_words(records) if user_dictionary else []
        return cls(segmenter=Segmenter(segmenter, words))

    def to_dict(self) -> dict[str, Any]:
        """What an index must store to analyse queries as it analysed its documents."""
        return {"stem": self.stem, "segmenter": self.segmenter.to_dict(), "head_backoff": self.head_backoff}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Analyzer:
        """The analyzer :meth:`to_dict` described; ``None`` (an index saved before) gives the defaults
        of that time: jieba, no user dictionary, no head characters."""
        if d is None:
            return cls(head_backoff=False)
        return cls(
            stem=bool(d.get("stem", True)),
            segmenter=Segmenter.from_dict(d.get("segmenter")),
            head_backoff=bool(d.get("head_backoff", True)),
        )

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

    def query_groups(
        self,
        query: str,
        synonyms: Mapping[str, list[str]] | None = None,
        known: Callable[[str], bool] | None = None,
    ) -> list[QueryGroup]:
        """The query as word groups (see :class:`QueryGroup`), synonyms expanded.

        Han words keep their own term and their bigrams as alternatives, so "处理" matches an
        indexed "待处理" through the bigram "处理". ``known(term)``: whether the index holds a term;
        with it, a Han word the index does not hold, or of one character, also accepts its head term
        (module docstring).
        """
        text = normalize(query)
        groups: list[QueryGroup] = []
        for han, other in split_scripts(text):
            if han:
                for w in self.han_words(han):
                    alts = [(w, 1.0), *((bg, 0.5) for bg in char_bigrams(w) if bg != w)]
                    if self.head_backoff and known is not None and (len(w) == 1 or not known(w)):
                        head = w if len(w) == 1 else head_character(w)
                        if head is not None:
                            alts.append((head_term(head), HEAD_WEIGHT))
                    groups.append(QueryGroup(w, tuple(dict(alts).items())))
            else:
                for terms in self.latin_words(other, split_glued=True):
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


def catalogue_words(records: Iterable[Mapping[str, Any]], *, limit: int = 50_000) -> list[str]:
    """User-dictionary words of a catalogue: the Chinese runs of its brands and product-line attributes
    (:data:`PRODUCT_LINE_KEYS`), the ``limit`` most frequent, each kept whole by the segmenter
    (:class:`shopmind.text.UserDictionary` keeps runs of 2–16 ideographs).

    Category names are left out on purpose: they are compounds of ordinary words ("智能手表") that the
    segmenter already splits, and a query word made whole is matched by any one of its bigrams, so
    "小米智能手表" as two words ranked "小米 智能手机" beside the watches (docs/benchmarks.md).
    """
    from collections import Counter

    counts: Counter[str] = Counter()

    def add(value: Any) -> None:
        if isinstance(value, str) and value:
            counts.update(han for han, _ in split_scripts(normalize(value)) if 2 <= len(han) <= 16)

    for r in records:
        add(r.get("brand"))
        attrs = r.get("attributes")
        if isinstance(attrs, Mapping):
            for key, value in attrs.items():
                if str(key).lower() in PRODUCT_LINE_KEYS:
                    add(value)
    return [w for w, _ in counts.most_common(limit)]


def flatten_groups(groups: Sequence[QueryGroup]) -> dict[str, float]:
    """Unique query terms with their weight (max over groups)."""
    out: dict[str, float] = {}
    for g in groups:
        for t, w in g.terms:
            out[t] = max(out.get(t, 0.0), w)
    return out
