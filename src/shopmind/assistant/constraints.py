"""Product constraints in a shopping question: price bounds, category, brand, attribute values.

``"do you sell Sony headphones under $50?"`` → ``price ≤ 50``, category ``Electronics > Audio >
Headphones``, brand ``Sony``; ``"50元以内的耳机"`` → the same category and bound. The dialogue runs
them as search filters and checks every product it shows against them
(:meth:`Constraints.matches`).

**Price grammar** (English and Chinese; case-insensitive, after NFKC so full-width ``５０元`` is
``50元``). ``AMOUNT`` is a number (``1,299.99``) with an optional currency symbol before it (``$``,
``US$``, ``USD``, ``¥``, ``€``, ``£``, ``RMB``) and/or a currency word after it (``dollars``,
``bucks``, ``usd``, ``yuan``, ``元``, ``块``, ``块钱``, ``美元``, ``刀`` …)::

    upper   under|below|less than|cheaper than|at most|up to|no more than|max|within|budget AMOUNT
            AMOUNT or less|or under|and under|max|以内|以下|之内|内|封顶
            不超过|不高于|不到|低于|少于|小于|最多|至多|预算 AMOUNT
    lower   over|above|more than|at least|starting at|min|from(currency only) AMOUNT
            AMOUNT or more|and up|and above|plus|+|以上|起
            超过|高于|大于|至少|不低于|不少于 AMOUNT
    range   between A and B | from A to B | A-B, A to B, A~B (with a currency or a price word)
            A到B(元) | A至B元 | 在A和B之间
    budget  for|around|about AMOUNT-with-currency  (an upper bound: "headphones for $50")

A number is *not* a price when it is followed by a unit (``50 inch``, ``50 hours``, ``50小时``,
``256GB``, the units found in the catalogue's attribute values) or directly preceded by an
attribute word (``battery hours: 50``, ``size 42``, ``battery life over 50``; the words of the
catalogue's attribute keys plus a few generic ones), unless it carries a currency marker
(``size M under $50`` is a price). A number with neither a comparative nor a currency is never a
price. Bounds are inclusive (``under $50`` admits 50.00) and in the shop's currency: a currency
word marks a price, it does not convert one. Several bounds intersect (the largest lower, the
smallest upper).

**Catalogue vocabulary** (:class:`CatalogVocabulary`, built from ``store.items_frame()``; nothing
about a particular shop is hard-coded):

* *category*: every element of every category path the items carry, in whatever language the shop
  uses (``"Headphones"``, ``"耳机"``, ``"Electronics"`` → the path prefix up to it), plus words of the
  item titles that single out a category: a title n-gram (English words, 1–3) or a Chinese substring
  (1–6 characters; a single character needs stricter evidence) whose items lie ≥ 95 % in at most
  three leaf categories, each covering ≥ 20 % of that leaf's titles in the term's script. This is
  how ``"耳机"`` or ``"mouse"`` find ``Headphones`` / ``Mice`` in a shop whose paths are English.
* *brand*: the brand names, plus Chinese title substrings (two or more characters) that single out
  one brand (``"小米"``); such a term names the brand even when the brand makes one category only,
  except in a category only that brand makes (there it is as much the category's word).
* *attribute*: values of low-cardinality text attributes (``"black"``, ``"256gb"``), the names of
  boolean attributes (``"noise cancelling"`` → ``noise_cancelling = true``), and Chinese title
  substrings that single out one value (``"黑色"`` → ``colour = Black``).

Matching is on normalised text: NFKC, lower case, ``-``/``_`` as spaces, English plurals folded
(``headphones`` → ``headphone``); the longest match wins (``coffee maker`` over ``coffee``), and the
price phrases are removed first (``over`` in ``over $100`` is not part of ``Over-Ear``).

Limits: a message longer than :data:`MAX_TEXT_CHARS` is refused with :class:`DataError`; at most
:data:`MAX_TERMS` vocabulary terms are kept; title terms are mined from at most
:data:`MAX_MINED_TITLES` titles (a seeded sample of a larger catalogue).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from shopmind.errors import DataError
from shopmind.text import CJK_CLASS, normalize, segment

MAX_TEXT_CHARS = 4000  # the chat API's message limit
MAX_TERMS = 200_000
MAX_NGRAM_WORDS = 3
MAX_CJK_CHARS = 6
MIN_SUPPORT = 3
PRECISION = 0.95
COVERAGE = 0.2
SINGLE_CHAR_COVERAGE = 0.6
MAX_ATTR_VALUES = 50
MAX_MINED_TITLES = 60_000

_CJK = re.compile(f"[{CJK_CLASS}]")
_CJK_RUN = re.compile(f"[{CJK_CLASS}]+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# a chunk without spaces that contains CJK: "5g手机", "t恤", "ssd固态硬盘"
_CHUNK = re.compile(f"[a-z0-9{CJK_CLASS}]*[{CJK_CLASS}][a-z0-9{CJK_CLASS}]*")

# function words never become catalogue terms ("for" in "Case for iPhone 15", "over" in "Over-Ear")
_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | {"pcs", "pc", "edition", "new", "set"}

# --- price grammar ---------------------------------------------------------------------------
_CUR_PRE = r"(?:us\$|usd|\$|€|£|¥|rmb|cny|eur|gbp)"
_CUR_POST = (
    r"(?:dollars?|bucks?|usd|euros?|eur|gbp|pounds?|rmb|cny|yuan|块钱|块|元|美元|美金|刀|欧元|英镑|人民币)"
)
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"


def _amount(tag: str, guard: bool = True) -> str:
    # the guard keeps model codes and measurements out: "RB-500", "SPF50", "v2.50"
    lead = r"(?<![a-z0-9.\-])" if guard else r"(?<![a-z0-9.])"
    return (
        rf"(?P<{tag}pre>{_CUR_PRE})?\s?{lead}(?P<{tag}>{_NUM})(?![0-9])"
        rf"(?:\s?(?P<{tag}post>{_CUR_POST})(?![a-z]))?"
    )


_A, _B = _amount("a"), _amount("b", guard=False)
_EN_UPPER = (
    r"under|below|less than|lower than|cheaper than|at most|up to|no more than|not more than|"
    r"max(?:imum)?|within|budget(?: of| is)?|for less than|for under|<=|≤|<"
)
_ZH_UPPER = r"不超过|不高于|不到|低于|少于|小于|最多|至多|顶多|预算(?:是|为|在)?"
_EN_LOWER = (
    r"over|above|more than|greater than|at least|no less than|not less than|starting at|min(?:imum)?|>=|≥|>"
)
_ZH_LOWER = r"超过|高于|大于|至少|不低于|不少于|起码"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("range", re.compile(rf"(?<![a-z])between\s+{_A}\s*(?:and|&|-|to)\s*{_B}")),
    ("range", re.compile(rf"(?<![a-z])from\s+{_A}\s*(?:to|-|–)\s*{_B}")),
    ("range", re.compile(rf"在\s*{_A}\s*(?:和|与|跟|到|至)\s*{_B}\s*之间")),
    ("range_loose", re.compile(rf"{_A}\s*(?:-|–|—|~|～|to|到|至)\s*{_B}")),
    ("upper", re.compile(rf"(?:(?<![a-z])(?:{_EN_UPPER})|{_ZH_UPPER})\s*:?\s*{_A}")),
    ("upper", re.compile(rf"{_A}\s*(?:or less|or under|or below|or cheaper|and under|and below|max|tops|以内|以下|之内|及以下|或以下|封顶|内)")),
    ("lower", re.compile(rf"(?:(?<![a-z])(?:{_EN_LOWER})|{_ZH_LOWER})\s*:?\s*{_A}")),
    ("lower", re.compile(rf"{_A}\s*(?:or more|and up|and above|and over|plus|\+|以上|及以上|或以上|起)")),
    ("lower_cur", re.compile(rf"(?<![a-z])(?:from|starting from)\s+{_A}")),
    ("budget", re.compile(rf"(?:(?<![a-z])(?:for|around|about|budget)|预算)\s*{_A}")),
]  # fmt: skip
_PRICE_WORDS = re.compile(r"price|priced|cost|costs|budget|cheap|\bpay\b|价格|价钱|价位|多少钱|预算|售价")
# units that make a number a measurement; the catalogue adds the units of its attribute values
_UNITS = {
    "inch", "inches", "\"", "″", "'", "hour", "hours", "hr", "hrs", "h", "min", "mins", "minute",
    "minutes", "day", "days", "week", "weeks", "month", "months", "year", "years", "yr", "yrs", "cm",
    "mm", "m", "km", "kg", "g", "lb", "lbs", "oz", "ml", "l", "gb", "tb", "mb", "mah", "w", "watt",
    "watts", "v", "hz", "k", "p", "pcs", "pc", "pieces", "piece", "pack", "packs", "person", "persons",
    "people", "%", "x", "bar", "spf", "mp", "pair", "pairs", "item", "items", "unit", "units", "star",
    "stars",
    "寸", "英寸", "小时", "分钟", "天", "周", "个月", "月", "年", "岁", "码", "毫升", "升", "克", "千克",
    "公斤", "斤", "瓦", "片", "支", "双", "颗", "粒", "人", "个", "件", "厘米", "毫米", "米", "张", "台",
}  # fmt: skip
_ATTR_WORDS = {
    "size", "battery", "life", "screen", "capacity", "memory", "storage", "ram", "weight", "length",
    "width", "height", "volume", "power", "pressure", "intensity", "thickness", "diameter", "pieces",
    "age", "model", "hours", "number", "no", "spf", "resolution", "rating", "rated", "stars",
    "尺码", "尺寸", "续航", "电池", "屏幕", "容量", "内存", "存储", "重量", "功率", "厚度", "直径", "型号", "码",
}  # fmt: skip
_CUR_WORD = re.compile(_CUR_POST)
_UNIT_AFTER = re.compile(r"\s?([a-z\"″'%]+|[" + CJK_CLASS + r"]{1,2})")


@dataclass(frozen=True)
class PriceBound:
    """One price phrase found in a message: ``kind`` (upper/lower/range/budget) and its span."""

    low: float | None
    high: float | None
    start: int
    end: int
    text: str


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def _word_before(text: str, pos: int) -> str:
    """The word (or last two CJK characters) right before ``pos``, skipping spaces and ``:``."""
    head = text[:pos].rstrip(" :：\t")
    if not head:
        return ""
    m = re.search(rf"([a-z]+|[{CJK_CLASS}]{{1,2}})$", head)
    return m.group(1) if m else ""


def find_prices(
    text: str, *, units: Iterable[str] = (), attribute_words: Iterable[str] = ()
) -> list[PriceBound]:
    """Price phrases in ``text`` (NFKC + lower case, :func:`shopmind.text.normalize`), in text order.

    ``units`` / ``attribute_words`` extend the built-in lists (the catalogue's units and attribute
    key words); see the module docstring for the grammar and the rules that tell a price from
    another number.
    """
    unit_set = _UNITS | {u for u in units if u}
    attr_set = _ATTR_WORDS | {w for w in attribute_words if w}
    taken: list[tuple[int, int]] = []
    found: list[PriceBound] = []
    priced = _PRICE_WORDS.search(text) is not None
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            tags = ("a", "b") if kind.startswith("range") else ("a",)
            marked = any(m.group(f"{t}pre") or m.group(f"{t}post") for t in tags)
            if kind == "lower_cur" and not marked:
                continue
            if kind == "budget" and not marked and not m.group(0).startswith(("budget", "预算")):
                continue
            if kind == "range_loose" and not (marked or priced):
                continue
            if not marked and not _is_price_context(text, m, tags, unit_set, attr_set):
                continue
            last = tags[-1]
            if (
                marked
                and not m.group(f"{last}post")
                and _unit_follows(text, m.end(last), unit_set, nouns=False)
            ):
                continue  # "$50 socks" is a price, "$50 inch" is not
            a = _num(m.group("a"))
            if kind.startswith("range"):
                b = _num(m.group("b"))
                lo, hi = min(a, b), max(a, b)
            elif kind in ("upper", "budget"):
                lo, hi = None, a
            else:
                lo, hi = a, None
            taken.append((m.start(), m.end()))
            found.append(PriceBound(lo, hi, m.start(), m.end(), m.group(0)))
    return sorted(found, key=lambda p: p.start)


def _unit_follows(text: str, pos: int, units: set[str], *, nouns: bool = True) -> bool:
    """Whether the number ending at ``pos`` measures something: a unit or a noun follows it.

    ``under 50 hours`` / ``over 3 colours`` / ``50小时``: a unit or any English word that is not a
    function word (``under 50 for a gift`` is still a price); Chinese: a unit character.
    """
    after = _UNIT_AFTER.match(text, pos)
    if after is None:
        return False
    word = after.group(1)
    if _CJK.match(word):
        return word in units or word[:1] in units
    if word in units:
        return True
    return nouns and word.isalpha() and word not in _STOP_WORDS and not _CUR_WORD.fullmatch(word)


def _is_price_context(
    text: str, m: re.Match[str], tags: Sequence[str], units: set[str], attrs: set[str]
) -> bool:
    """A number without a currency is a price unless a unit follows it or an attribute word precedes."""
    for t in tags:
        if _unit_follows(text, m.end(t), units):
            return False
    before = _word_before(text, m.start())
    return before not in attrs and not (_CJK.match(before[-1:] or "a") and before[-1:] in attrs)


# --- normalisation and vocabulary ----------------------------------------------------------------
def _singular(word: str) -> str:
    """English plural → singular by suffix rules (``headphones``, ``dresses``, ``batteries``)."""
    if len(word) < 4 or not word.isalpha() or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


_CLAUSE = re.compile(r"[^.!?;。！？；，,\n]+")
_FOLD = str.maketrans({ch: " " for ch in "-_&/·,()（）"} | {"’": "'"})


def normalize_text(text: str) -> str:
    """NFKC + lower case, with ``-``/``_``/``&``/``/`` read as spaces (``T-Shirts`` → ``t shirts``).

    Length-preserving after NFKC, so spans found in ``normalize(text)`` hold here too.
    """
    return normalize(text).translate(_FOLD)


def _words(text: str) -> list[str]:
    return [_singular(w) for w in _WORD.findall(text)]


def term_key(text: str) -> str:
    """The lookup key of a vocabulary term: normalised, English words singular, single-spaced."""
    norm = normalize_text(text)
    parts: list[str] = []
    for tok in norm.split():
        if _CJK.search(tok):
            parts.append(tok)
        else:
            parts.extend(_words(tok))
    return " ".join(parts)


def _cjk_candidates(chunk: str, max_chars: int = MAX_CJK_CHARS) -> set[str]:
    """Substrings of a CJK chunk that contain a CJK character and do not cut an ASCII word."""
    n = len(chunk)
    cuts = [p for p in range(n + 1) if p in (0, n) or _CJK.match(chunk[p - 1]) or _CJK.match(chunk[p])]
    out = set()
    for i_idx, i in enumerate(cuts):
        for j in cuts[i_idx + 1 :]:
            if j - i > max_chars + 4:  # ASCII parts do not count much towards the length
                break
            sub = chunk[i:j]
            cjk = len(_CJK.findall(sub))
            if cjk and cjk <= max_chars:
                out.add(sub)
    return out


def title_terms(title: str) -> set[str]:
    """Candidate vocabulary terms of one title: English word n-grams and Chinese substrings."""
    norm = normalize_text(title)
    out: set[str] = set()
    for m in _CHUNK.finditer(norm):
        # "50英寸" is a measurement, not a name
        out |= {t for t in _cjk_candidates(m.group(0)) if not any(ch.isdigit() for ch in t)}
    latin = _CJK_RUN.sub(" | ", norm)
    for seg in latin.split("|"):
        words = _words(seg)
        for n in range(1, MAX_NGRAM_WORDS + 1):
            for i in range(len(words) - n + 1):
                gram = words[i : i + n]
                if any(any(ch.isdigit() for ch in w) for w in gram):
                    continue
                if gram[0] in _STOP_WORDS or gram[-1] in _STOP_WORDS or (n == 1 and len(gram[0]) < 2):
                    continue
                out.add(" ".join(gram))
    return out


@dataclass(frozen=True)
class Match:
    """A vocabulary term found in a message: its surface key, its kind and what it stands for."""

    key: str
    kind: str  # category | brand | attribute
    targets: tuple[Any, ...]


@dataclass(frozen=True)
class Constraints:
    """What a shopping question asks for. Empty fields constrain nothing; all given fields AND."""

    price_min: float | None = None
    price_max: float | None = None
    categories: tuple[tuple[str, ...], ...] = ()  # path prefixes, any of them
    brands: tuple[str, ...] = ()  # any of them
    attributes: tuple[tuple[str, Any], ...] = ()  # (key, value) pairs, all of them
    terms: tuple[str, ...] = ()  # the matched words (category/brand/attribute), for the search query
    prices: tuple[PriceBound, ...] = field(default=(), compare=False)

    @property
    def has_price(self) -> bool:
        return self.price_min is not None or self.price_max is not None

    @property
    def is_shopping(self) -> bool:
        """A price bound or a category: enough to list products."""
        return self.has_price or bool(self.categories)

    @property
    def empty(self) -> bool:
        return not (self.has_price or self.categories or self.brands or self.attributes)

    def filters(self, *, attributes: bool = True) -> dict[str, Any]:
        """The search filters (:meth:`shopmind.search.service.SearchService.search` ``filters=``)."""
        out: dict[str, Any] = {}
        if self.has_price:
            out["price"] = (
                self.price_min if self.price_min is not None else -math.inf,
                self.price_max if self.price_max is not None else math.inf,
            )
        if self.categories:
            out["category"] = [" > ".join(p) for p in self.categories]
        if self.brands:
            out["brand"] = list(self.brands)
        if attributes:
            for key, value in self.attributes:
                out[f"attributes.{key}"] = value
        return out

    def without(self, *names: str) -> Constraints:
        """A copy with the named constraints (``price``, ``brand``, ``category``, ``attributes``) dropped."""
        return Constraints(
            price_min=None if "price" in names else self.price_min,
            price_max=None if "price" in names else self.price_max,
            categories=() if "category" in names else self.categories,
            brands=() if "brand" in names else self.brands,
            attributes=() if "attributes" in names else self.attributes,
            terms=self.terms,
            prices=self.prices,
        )

    def matches(
        self,
        *,
        price: float | None,
        brand: str | None,
        category: Sequence[str] | None,
        attributes: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether one product satisfies every constraint (an unknown price fails a price bound)."""
        if self.has_price:
            if price is None or (isinstance(price, float) and math.isnan(price)):
                return False
            if self.price_min is not None and price < self.price_min - 1e-9:
                return False
            if self.price_max is not None and price > self.price_max + 1e-9:
                return False
        if self.brands:
            have = term_key(brand or "")
            if not any(term_key(b) == have for b in self.brands):
                return False
        if self.categories:
            path = tuple(term_key(p) for p in (category or ()))
            if not any(path[: len(p)] == tuple(term_key(x) for x in p) for p in self.categories):
                return False
        attrs = attributes or {}
        for key, value in self.attributes:
            if key not in attrs or not _same_value(attrs[key], value):
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "price_min": self.price_min,
            "price_max": self.price_max,
            "categories": [" > ".join(p) for p in self.categories],
            "brands": list(self.brands),
            "attributes": {k: v for k, v in self.attributes},
            "terms": list(self.terms),
        }


def _same_value(have: Any, want: Any) -> bool:
    if isinstance(want, bool):
        return isinstance(have, bool) and have is want
    return term_key(str(have)) == term_key(str(want))


class CatalogVocabulary:
    """Term → category / brand / attribute value, learnt from one catalogue snapshot.

    ``build(frame)`` takes ``store.items_frame()`` (columns ``title``, ``category``, ``brand``,
    ``attributes``); see the module docstring for how terms are chosen.
    """

    def __init__(
        self,
        terms: dict[str, Match],
        *,
        units: set[str] | None = None,
        attribute_words: set[str] | None = None,
        title_words: set[str] | None = None,
    ) -> None:
        self.terms = terms
        self.units = units or set()
        self.attribute_words = attribute_words or set()
        self.title_words = title_words or set()
        self._max_words = max((k.count(" ") + 1 for k in terms if not _CJK.search(k)), default=1)

    def __len__(self) -> int:
        return len(self.terms)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, frame: pd.DataFrame) -> CatalogVocabulary:
        terms: dict[str, Match] = {}
        n = len(frame)
        titles = frame["title"].fillna("").astype(str).tolist() if n else []
        cats = [tuple(str(x) for x in c) if isinstance(c, list | tuple | np.ndarray) else () for c in
                (frame["category"].tolist() if n else [])]  # fmt: skip
        brands = [str(b) if isinstance(b, str) and b else "" for b in (frame["brand"].tolist() if n else [])]
        attrs = [a if isinstance(a, dict) else {} for a in (frame["attributes"].tolist() if n else [])]

        # 1. category path elements, as carried (any language): term -> path prefixes
        prefixes: dict[str, set[tuple[str, ...]]] = {}
        for path in set(cats):
            for depth in range(1, len(path) + 1):
                key = term_key(path[depth - 1])
                if key:
                    prefixes.setdefault(key, set()).add(path[:depth])
        for key, paths in prefixes.items():
            terms[key] = Match(key, "category", tuple(sorted(_shallowest(paths))))
        # 2. brand names
        for b in sorted(set(brands) - {""}):
            key = term_key(b)
            if key and key not in terms:
                terms[key] = Match(key, "brand", (b,))
        # 3. attribute values and boolean attribute names
        units: set[str] = set()
        attr_words: set[str] = set()
        values: dict[str, set[Any]] = {}
        for a in attrs:
            for k, v in a.items():
                values.setdefault(str(k), set()).add(v if isinstance(v, bool | int | float) else str(v))
        text_attrs: list[str] = []
        for k, vs in values.items():
            attr_words.update(w for w in term_key(k).split() if w.isalpha())
            if vs and all(isinstance(v, bool) for v in vs):
                key = term_key(k)
                if key and key not in terms:
                    terms[key] = Match(key, "attribute", ((k, True),))
                continue
            strs = [v for v in vs if isinstance(v, str)]
            for v in strs:  # "7kg", '55"', "256GB": their units mark measurements
                um = re.fullmatch(r"\s*\d+(?:\.\d+)?\s*([A-Za-z\"″]+|[" + CJK_CLASS + r"]{1,2})\s*", v)
                if um:
                    units.add(um.group(1).lower())
            if k.lower() == "model" or not strs or len(strs) > MAX_ATTR_VALUES:
                continue
            text_attrs.append(k)
            for v in strs:
                key = term_key(v)
                if len(key.replace(" ", "")) >= 3 and any(ch.isalpha() for ch in key) and key not in terms:
                    terms[key] = Match(key, "attribute", ((k, v),))
        # 4. title terms that single out a category leaf / a brand / an attribute value
        if n:
            # a seeded sample bounds the cost on huge catalogues; names and paths above used every item
            pick = (
                np.sort(np.random.default_rng(0).choice(n, MAX_MINED_TITLES, replace=False))
                if n > MAX_MINED_TITLES
                else np.arange(n)
            )
            titles = [titles[r] for r in pick]
            cats = [cats[r] for r in pick]
            brands = [brands[r] for r in pick]
            attrs = [attrs[r] for r in pick]
            n = len(pick)
            per_title = [title_terms(t) for t in titles]
            rows = np.repeat(np.arange(n), [len(s) for s in per_title])
            pairs = pd.DataFrame({"row": rows, "term": [t for s in per_title for t in s]})
            has_cjk = np.fromiter((bool(_CJK.search(t)) for t in titles), bool, n)
            has_latin = np.fromiter((bool(re.search("[A-Za-z]", t)) for t in titles), bool, n)
            leaf = pd.Series([" > ".join(c) for c in cats])
            by_cat = _mine(pairs, leaf, has_cjk, has_latin)
            by_brand = _mine(pairs, pd.Series(brands), has_cjk, has_latin, cjk_only=True, single=True)
            # a term that singles out one brand is that brand's name ("乐维萨", "双立人"), even when the
            # brand makes one category only; in a category only one brand makes, it is the category's
            brands_of: dict[str, set[str]] = {}
            for leaf_key, b in zip(leaf.tolist(), brands, strict=True):
                brands_of.setdefault(leaf_key, set()).add(b)
            for key, (targets, _) in by_brand.items():
                if key in by_cat and all(len(brands_of.get(t, ())) < 2 for t in by_cat[key][0]):
                    continue
                by_cat.pop(key, None)
                if key not in terms and len(terms) < MAX_TERMS:
                    terms[key] = Match(key, "brand", tuple(targets))
            for key, (targets, _) in by_cat.items():
                if key not in terms and len(terms) < MAX_TERMS:
                    terms[key] = Match(key, "category", tuple(tuple(t.split(" > ")) for t in targets))
            for k in text_attrs:
                val = pd.Series([str(a[k]) if k in a else "" for a in attrs])
                mined = _mine(pairs, val, has_cjk, has_latin, cjk_only=True, single=True)
                for key, (targets, _) in mined.items():
                    if key not in terms and len(terms) < MAX_TERMS:
                        terms[key] = Match(key, "attribute", ((k, targets[0]),))
            title_words = {t for t in pairs["term"].unique().tolist() if " " not in t}
        else:
            title_words = set()
        return cls(terms, units=units, attribute_words=attr_words, title_words=title_words)

    # ------------------------------------------------------------------ reading a message
    def extract(self, text: str) -> Constraints:
        """The constraints stated in ``text`` (see the module docstring)."""
        if len(text) > MAX_TEXT_CHARS:
            raise DataError(
                "message too long for constraint extraction",
                value=f"{len(text)} characters",
                expected=f"at most {MAX_TEXT_CHARS}",
            )
        base = normalize(text)
        prices = find_prices(base, units=self.units, attribute_words=self.attribute_words)
        lo = max((p.low for p in prices if p.low is not None), default=None)
        hi = min((p.high for p in prices if p.high is not None), default=None)
        rest = base.translate(_FOLD)
        for p in prices:  # price words are not product words ("over" of "Over-Ear")
            rest = rest[: p.start] + " " * (p.end - p.start) + rest[p.end :]
        spans = self._spans(rest)
        if prices:  # "I have a 50 inch TV. Any speakers under $80?": the clause of the price decides
            clauses = [(c.start(), c.end()) for c in _CLAUSE.finditer(base)]
            near = [c for c in clauses if any(c[0] <= p.start < c[1] for p in prices)]
            local = [sp for sp in spans if any(a <= sp[0] < b for a, b in near)]
            if any(m.kind == "category" for _, _, m in local):
                spans = local
        found = [m for _, _, m in spans]
        cats: list[tuple[str, ...]] = []
        brands: list[str] = []
        attrs: list[tuple[str, Any]] = []
        for m in found:
            if m.kind == "category":
                cats.extend(t for t in m.targets if t not in cats)
            elif m.kind == "brand":
                brands.extend(t for t in m.targets if t not in brands)
            elif (
                m.kind == "attribute" and len(m.targets) == 1 and m.targets[0][0] not in {a[0] for a in attrs}
            ):
                attrs.append(m.targets[0])
        return Constraints(
            price_min=lo,
            price_max=hi,
            categories=tuple(_shallowest(set(cats), keep_order=cats)),
            brands=tuple(brands),
            attributes=tuple(attrs),
            terms=tuple(m.key for m in found),
            prices=tuple(prices),
        )

    def find_terms(self, norm: str) -> list[Match]:
        """Vocabulary terms in normalised text, longest first, never two on the same characters."""
        return [m for _, _, m in self._spans(norm)]

    def _spans(self, norm: str) -> list[tuple[int, int, Match]]:
        cands: list[tuple[int, int, str]] = []
        for m in _CHUNK.finditer(norm):
            chunk = m.group(0)
            for sub in _cjk_candidates(chunk):
                if sub in self.terms:
                    at = chunk.find(sub)
                    while at >= 0:
                        cands.append((m.start() + at, m.start() + at + len(sub), sub))
                        at = chunk.find(sub, at + 1)
        spaced = _CJK_RUN.sub(lambda r: " " * len(r.group(0)), norm)  # English words, also "zara的"
        words = [(w.start(), w.end(), _singular(w.group(0))) for w in _WORD.finditer(spaced)]
        for n in range(1, self._max_words + 1):
            for i in range(len(words) - n + 1):
                key = " ".join(w[2] for w in words[i : i + n])
                if key in self.terms:
                    cands.append((words[i][0], words[i + n - 1][1], key))
        taken = np.zeros(len(norm) + 1, bool)
        kept: list[tuple[int, int, Match]] = []
        for start, end, key in sorted(cands, key=lambda c: (-(c[1] - c[0]), c[0])):
            if not taken[start:end].any():
                taken[start:end] = True
                kept.append((start, end, self.terms[key]))
        return sorted(kept, key=lambda k: k[0])

    def product_words(self, text: str, constraints: Constraints) -> tuple[list[str], list[str]]:
        """``(known, unknown)`` content words of ``text`` outside its price phrases and matched terms.

        Content words are English words that are neither function words nor shopping phrasing
        (:data:`SHOPPING_WORDS`), and Chinese jieba words of two or more characters outside
        :data:`SHOPPING_WORDS_ZH`. *Known* ones occur in the catalogue's titles (they can be
        searched for); an *unknown* one names something the shop does not list ("grinder").
        """
        base = normalize(text[:MAX_TEXT_CHARS])
        for p in constraints.prices:
            base = base[: p.start] + " " * (p.end - p.start) + base[p.end :]
        rest = base.translate(_FOLD)
        matched = {w for key in constraints.terms if not _CJK.search(key) for w in key.split()}
        for key in sorted(constraints.terms, key=len, reverse=True):
            if _CJK.search(key):
                rest = rest.replace(key, " ")
        known: list[str] = []
        unknown: list[str] = []
        for w in _words(_CHUNK.sub(" ", rest)):
            if w in _STOP_WORDS or w in SHOPPING_WORDS or w in matched or not w.isalpha() or len(w) < 2:
                continue
            (known if w in self.title_words else unknown).append(w)
        for m in _CHUNK.finditer(rest):
            for w in segment(m.group(0)):
                if len(w) < 2 or w in SHOPPING_WORDS_ZH or not _CJK.search(w):
                    continue
                (known if w in self.title_words else unknown).append(w)
        return list(dict.fromkeys(known)), list(dict.fromkeys(unknown))

    def qualifiers(self, text: str, constraints: Constraints) -> list[str]:
        """Unknown words right before a wanted category's word: a name the catalogue does not know.

        "Bosch headphones", "松下电饭煲" (titles say "Panasonic"): the word may be a brand the shop
        does not carry, so no listed product could be shown to satisfy it. Only a word joined to
        the category word (one space, or Chinese ``的``/nothing) counts; function words, shopping
        phrasing and words of the catalogue's titles are not qualifiers.
        """
        base = normalize(text[:MAX_TEXT_CHARS])
        for p in constraints.prices:
            base = base[: p.start] + "\x00" * (p.end - p.start) + base[p.end :]
        rest = base.translate(_FOLD)
        wanted = set(constraints.categories)
        clauses = [(c.start(), c.end()) for c in _CLAUSE.finditer(base)]
        near = [c for c in clauses if any(c[0] <= p.start < c[1] for p in constraints.prices)] or clauses
        out: list[str] = []
        for start, _, m in self._spans(rest):
            if m.kind != "category" or not wanted.intersection(m.targets):
                continue
            if not any(a <= start < b for a, b in near):  # "我家电视是50英寸的，500元以内的电视"
                continue
            head = base[:start]
            zh = re.search(f"([{CJK_CLASS}]+)的?$", head)
            if zh is not None:
                words = segment(zh.group(1))
                word = words[-1] if words else ""
                if len(word) >= 2 and word not in SHOPPING_WORDS_ZH and word not in self.title_words:
                    out.append(word)
                continue
            last = re.search(r"(?<![a-z0-9'])([a-z][a-z']*) $", head)
            if last is None or last.group(1).endswith("'s"):  # "my son's headphones"
                continue
            word = _singular(last.group(1))
            if (
                len(word) >= 2
                and word not in _STOP_WORDS
                and word not in SHOPPING_WORDS
                and word not in self.title_words
                and word not in self.terms
            ):
                out.append(word)
        return list(dict.fromkeys(out))


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# how people ask for products; not product words themselves
SHOPPING_WORDS = _wordset(
    "sell selling sold have ha carry stock buy buying purchase want wanna need looking look show find "
    "anything something thing stuff product item option choice cheap cheaper cheapest affordable "
    "expensive price priced cost dollar buck usd yuan budget available shop store offer recommend "
    "suggest good best great nice new hello hi hey thank thanks please like get got range kind type "
    "pair one ones also just maybe really any some sale deal"
)
SHOPPING_WORDS_ZH = _wordset(
    "有没有 没有 有的 你们 我们 请问 推荐 一下 一些 一个 一款 几款 什么 哪些 哪个 哪款 可以 能否 是否 "
    "想要 需要 想买 购买 买个 看看 帮我 给我 找找 商品 产品 东西 价格 价钱 便宜 便宜点 左右 以内 以下 "
    "以上 之间 多少 有货 现货 卖吗 在卖 出售 价位 预算 美元 块钱 人民币 元以 一点 还有 或者 以及 "
    "我家 家里 自己 孩子 儿子 女儿 朋友 老婆 老公 父母 妈妈 爸爸 送人 送给 买给"
)


def _shallowest(
    paths: set[tuple[str, ...]], keep_order: Sequence[tuple[str, ...]] | None = None
) -> list[tuple[str, ...]]:
    """Drop paths that lie under another path of the set (the prefix already covers them)."""
    kept = [p for p in paths if not any(q != p and p[: len(q)] == q for q in paths)]
    if keep_order is not None:
        return [p for p in dict.fromkeys(keep_order) if p in kept]
    return kept


def _mine(
    pairs: pd.DataFrame,
    label: pd.Series,
    has_cjk: np.ndarray,
    has_latin: np.ndarray,
    *,
    cjk_only: bool = False,
    single: bool = False,
) -> dict[str, tuple[list[str], float]]:
    """Title terms whose items concentrate on a few values of ``label`` (see the module docstring).

    For a term ``t`` and value ``v``: precision ``n(t, v) / n(t)`` over items with a non-empty
    label, coverage ``n(t, v) / n_script(v)`` where ``n_script(v)`` counts the items of ``v`` whose
    title is in the term's script. The term is kept when the fewest values reaching 95 % of its
    items number ≤ 3 (1 with ``single`` or for a one-character Chinese term) and each has
    coverage ≥ 20 % (60 % for one character) and support ≥ 3. Returns term → (values, the
    smallest coverage among them).
    """
    lab = label.to_numpy(dtype=object)
    keep_rows = np.flatnonzero(lab != "")
    if not len(keep_rows) or not len(pairs):
        return {}
    p = pairs[np.isin(pairs["row"].to_numpy(), keep_rows)]
    terms = p["term"].to_numpy(dtype=object)
    is_cjk = np.fromiter((bool(_CJK.search(t)) for t in terms), bool, len(terms))
    if cjk_only:  # aliases of names: at least two characters ("的" of "美的" is no brand)
        keep = is_cjk & np.fromiter((len(t) >= 2 for t in terms), bool, len(terms))
        p, terms, is_cjk = p[keep], terms[keep], is_cjk[keep]
    frame = pd.DataFrame({"term": terms, "value": lab[p["row"].to_numpy()], "cjk": is_cjk})
    n_term = frame.groupby("term").size()
    n_tv = frame.groupby(["term", "value"]).size().rename("n").reset_index()
    n_tv = n_tv[n_tv["n"] >= MIN_SUPPORT]
    n_tv["total"] = n_term.reindex(n_tv["term"]).to_numpy()
    n_tv = n_tv[n_tv["n"] / n_tv["total"] >= 0.2]  # values that hold a real share of the term
    if not len(n_tv):
        return {}
    lab_s = pd.Series(lab[keep_rows])
    zh_den = lab_s[has_cjk[keep_rows]].value_counts()
    en_den = lab_s[has_latin[keep_rows]].value_counts()
    term_cjk = n_tv["term"].map(lambda t: bool(_CJK.search(t))).to_numpy()
    den = np.where(
        term_cjk,
        zh_den.reindex(n_tv["value"]).fillna(0).to_numpy(),
        en_den.reindex(n_tv["value"]).fillna(0).to_numpy(),
    )
    n_tv["coverage"] = n_tv["n"].to_numpy() / np.maximum(den, 1)
    n_tv["one_char"] = [len(_CJK.findall(t)) == 1 and len(t) == 1 for t in n_tv["term"]]
    out: dict[str, tuple[list[str], float]] = {}
    for term, grp in n_tv.sort_values(["term", "n"], ascending=[True, False]).groupby("term", sort=False):
        total = float(grp["total"].iloc[0])
        one_char = bool(grp["one_char"].iloc[0])
        cum = grp["n"].cumsum().to_numpy() / total
        needed = int(np.searchsorted(cum, PRECISION - 1e-12) + 1)
        limit = 1 if (single or one_char) else 3
        if needed > limit or needed > len(grp):
            continue
        chosen = grp.iloc[:needed]
        min_cov = SINGLE_CHAR_COVERAGE if one_char else COVERAGE
        if (chosen["coverage"] < min_cov).any():
            continue
        out[str(term)] = ([str(v) for v in chosen["value"]], float(chosen["coverage"].min()))
    return out


_CODE = re.compile(r"(?<![a-z0-9])(?=[a-z0-9-]*[a-z])(?=[a-z0-9-]*\d)[a-z0-9]+(?:-[a-z0-9]+)*(?![a-z0-9])")


class CatalogSnapshot:
    """One catalogue snapshot: its :class:`CatalogVocabulary` plus the columns the filters read.

    ``mask(constraints)`` is the boolean row mask of the products that satisfy them (vectorised
    over price, brand and category; attribute pairs read the attribute dicts). ``seq`` is the
    store's catalogue change number the snapshot was taken at (``-1`` when unknown).
    """

    def __init__(self, frame: pd.DataFrame, seq: int = -1) -> None:
        n = len(frame)
        self.seq = seq
        self.vocabulary = CatalogVocabulary.build(frame)
        col = lambda name: frame[name].tolist() if n and name in frame else [None] * n  # noqa: E731
        self.ids = np.asarray([str(i) for i in col("id")], dtype=object)
        self.titles = [str(t or "") for t in col("title")]
        num = (lambda name: pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float64)  # noqa: E731
               if n and name in frame else np.full(n, np.nan))  # fmt: skip
        self.price = num("price")
        stock = num("stock")
        self.in_stock = np.isnan(stock) | (stock > 0)  # unknown stock counts as available, as Item.in_stock
        self.currency = pd.Series([c or "USD" for c in col("currency")]).mode().iloc[0] if n else "USD"
        self.brand_keys = np.asarray(
            [term_key(b) if isinstance(b, str) else "" for b in col("brand")], object
        )
        paths = [
            tuple(str(x) for x in c) if isinstance(c, list | tuple | np.ndarray) else ()
            for c in col("category")
        ]
        codes, uniques = pd.factorize(pd.Series([" > ".join(p) for p in paths]))
        self._path_code = codes
        self._paths = [tuple(term_key(x) for x in u.split(" > ")) if u else () for u in uniques]
        self.attributes = [a if isinstance(a, dict) else {} for a in col("attributes")]
        # letters+digits tokens ("wh-509") and how many titles carry each: a rare one names an item
        counts: dict[str, int] = {}
        for t in self.titles:
            for tok in set(_CODE.findall(normalize(t))):
                counts[tok] = counts.get(tok, 0) + 1
        self.code_counts = counts

    @classmethod
    def build(cls, frame: pd.DataFrame, seq: int = -1) -> CatalogSnapshot:
        return cls(frame, seq)

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, c: Constraints) -> np.ndarray:
        n = len(self.ids)
        m = np.ones(n, bool)
        if c.has_price:
            with np.errstate(invalid="ignore"):
                if c.price_min is not None:
                    m &= self.price >= c.price_min - 1e-9
                if c.price_max is not None:
                    m &= self.price <= c.price_max + 1e-9
            m &= ~np.isnan(self.price)
        if c.brands:
            m &= np.isin(self.brand_keys, [term_key(b) for b in c.brands])
        if c.categories:
            wanted = [tuple(term_key(x) for x in p) for p in c.categories]
            ok = np.asarray([any(p[: len(w)] == w for w in wanted) for p in self._paths], bool)
            m &= ok[self._path_code] if len(ok) else np.zeros(n, bool)
        for key, value in c.attributes:
            rows = np.flatnonzero(m)
            keep = np.fromiter(
                (key in self.attributes[r] and _same_value(self.attributes[r][key], value) for r in rows),
                bool,
                len(rows),
            )
            m[rows[~keep]] = False
        return m

    def codes_in(self, text: str, max_titles: int = 3) -> list[str]:
        """Model-code-like tokens of ``text`` that occur in at most ``max_titles`` catalogue titles."""
        return [t for t in _CODE.findall(normalize(text)) if 0 < self.code_counts.get(t, 0) <= max_titles]
