"""A bilingual (Chinese ↔ Latin-script) glossary learnt from the catalogue, for cross-lingual keyword search.

A shop's records are often bilingual without saying so: a Chinese title sits beside an English
category path, brand and attribute values ("索尼 WH-300 降噪耳机 黑色" under ``Electronics > Audio >
Headphones``, brand ``Sony``, colour ``Black``), or a brand field names both ("Sony/索尼"). The glossary
pairs the two scripts from that evidence only — nothing is downloaded, nothing is hand-written:

* **Mined pairs.** For title terms ``t`` of one script (Chinese: the CJK runs of the titles and their
  jieba search-mode words of two or more characters; Latin: words) and a label value ``v`` of the
  other script (the leaf category, the brand, a text attribute value), with ``n(t, v)`` the products
  whose title holds ``t`` and whose label is ``v``::

      precision(t, v) = n(t, v) / n(t)           ≥ MIN_PRECISION   (t singles out v)
      coverage(t, v)  = n(t, v) / n_script(v)    ≥ MIN_COVERAGE    (t is how titles of v say it)
      n(t, v)                                    ≥ MIN_SUPPORT

  where ``n_script(v)`` counts the products of ``v`` titled in ``t``'s script — the association-rule
  measures (confidence and support, Agrawal et al. 1993) used for translation-lexicon extraction from
  comparable corpora. ``t → v`` is kept for the best ``v``; the reverse ``v → t`` keeps the
  ``REVERSE_TERMS`` terms with the largest ``n(t, v)``.
* **Declared pairs.** A brand field holding both scripts ("Sony/索尼", "索尼（Sony）") and pairs passed in
  (e.g. the ``server.category_names_zh`` names of category path components).

:meth:`Glossary.translate` replaces the known phrases of a query by their counterparts (longest match
first, never two on the same characters) and keeps script-neutral tokens (model numbers, sizes such
as ``wh-300`` or ``512gb``); the search runs it as a second keyword query whose matches rank after the
query's own (:mod:`shopmind.search.engine`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from shopmind.errors import ArtifactError, DataError
from shopmind.search.analyzers import Analyzer
from shopmind.text import has_cjk, normalize, segment_for_search, split_scripts

MIN_PRECISION = 0.8
MIN_COVERAGE = 0.2
MIN_SUPPORT = 3
REVERSE_TERMS = 2
"""Counterparts kept per label value in the label → title-term direction (the most frequent ones)."""
MAX_RUN = 12
"""Longest CJK run (characters) taken whole as a term; longer runs contribute their words only."""
MAX_TITLES = 200_000
"""Titles mined at most (a seeded sample beyond): the glossary settles long before."""
MAX_ENTRIES = 50_000
MAX_ATTRIBUTE_VALUES = 200
"""Attribute keys with more distinct string values are identifiers, not labels: not mined."""
MAX_QUERY_CHARS = 512
MAX_PHRASE_WORDS = 4
FORMAT_VERSION = 1

_ANALYZER = Analyzer()
_DECLARED_SPLIT = re.compile(r"\s*[/|（）()]\s*")


def latin_key(text: str) -> str:
    """A Latin-script phrase as a glossary key: the index analyzer's stemmed words ("Headphones" → "headphon")."""
    return " ".join(t for t in _ANALYZER.analyze(text) if not has_cjk(t))


def _neutral(token: str) -> bool:
    """Script-neutral tokens a translation keeps: model numbers, sizes and capacities (they hold a digit)."""
    return any(ch.isdigit() for ch in token)


def _cjk_terms(title: str) -> set[str]:
    out: set[str] = set()
    for run, _ in split_scripts(normalize(title)):
        if not run:
            continue
        if 2 <= len(run) <= MAX_RUN:
            out.add(run)
        out.update(w for w in segment_for_search(run) if len(w) >= 2)
    return out


def _latin_terms(title: str) -> set[str]:
    return {w for w in latin_key(title).split() if w.isalpha() and len(w) >= 3}


class _TitleTerms(NamedTuple):
    """One script's title terms of every product, as integer codes (built once, mined per label)."""

    product: np.ndarray  # product row of each (product, term) pair
    term: np.ndarray  # term code of each pair
    vocab: np.ndarray  # term strings by code
    n_term: np.ndarray  # products holding each term
    titled: np.ndarray  # per product: has a title term of this script

    @classmethod
    def of(cls, terms: list[set[str]]) -> _TitleTerms:
        counts = np.fromiter((len(s) for s in terms), np.int64, len(terms))
        codes, vocab = pd.factorize(pd.Series([t for s in terms for t in s], dtype=object))
        term = codes.astype(np.int64)
        return cls(
            np.repeat(np.arange(len(terms)), counts),
            term,
            np.asarray(vocab, dtype=object),
            np.bincount(term, minlength=len(vocab)),
            counts > 0,
        )


def _mine(terms: _TitleTerms, labels: Sequence[str]) -> pd.DataFrame:
    """``term, value, n`` for the term → value pairs that pass the thresholds (module docstring).

    ``terms``: the title terms of the products in one script; ``labels[i]``: product ``i``'s label
    value in the other script ("" = none). Vectorised: (term, label) codes of every pair are counted
    with one ``np.unique`` — no string grouping, so many label columns stay cheap.
    """
    empty = pd.DataFrame(columns=["term", "value", "n"])
    label_code, values = pd.factorize(pd.Series(labels, dtype=object))
    values = np.asarray(values, dtype=object)
    named = (label_code >= 0) & (np.asarray(labels, dtype=object) != "")
    if not len(terms.term) or not named.any():
        return empty
    # products with a title term of this script, per value
    n_script = np.bincount(label_code[named & terms.titled], minlength=len(values))
    keep = named[terms.product]
    pair = terms.term[keep] * len(values) + label_code[terms.product[keep]]
    key, n = np.unique(pair, return_counts=True)
    t, v = np.divmod(key, len(values))
    precision = n / terms.n_term[t]
    coverage = n / np.maximum(n_script[v], 1)
    ok = (n >= MIN_SUPPORT) & (precision >= MIN_PRECISION) & (coverage >= MIN_COVERAGE)
    if not ok.any():
        return empty
    # precision ≥ 0.8 > 0.5 leaves at most one value per term
    return pd.DataFrame({"term": terms.vocab[t[ok]], "value": values[v[ok]], "n": n[ok]})


class Glossary:
    """Phrase → counterparts in the other script (see the module docstring).

    ``cjk``: CJK phrase → Latin phrases (as written in the catalogue); ``latin``: Latin key
    (:func:`latin_key`) → CJK phrases.
    """

    def __init__(self, cjk: Mapping[str, Sequence[str]], latin: Mapping[str, Sequence[str]]) -> None:
        self.cjk = {k: list(v) for k, v in cjk.items()}
        self.latin = {k: list(v) for k, v in latin.items()}
        self._max_cjk = max((len(k) for k in self.cjk), default=0)
        self._max_words = max((len(k.split()) for k in self.latin), default=0)

    def __len__(self) -> int:
        return len(self.cjk) + len(self.latin)

    # ------------------------------------------------------------------ learning
    @classmethod
    def learn(
        cls,
        titles: Sequence[str],
        *,
        categories: Sequence[Sequence[str]] | None = None,
        brands: Sequence[str | None] | None = None,
        attributes: Sequence[Mapping[str, Any]] | None = None,
        pairs: Mapping[str, str] | None = None,
    ) -> Glossary:
        """Mine the glossary from a catalogue's columns (one entry per product, in the same order).

        ``categories``: category paths (the leaf is the label); ``brands``; ``attributes``: the
        products' attribute dicts (string values are labels); ``pairs``: declared ``{phrase: phrase}``
        pairs in either direction (e.g. category names and their Chinese names).
        """
        n = len(titles)
        for name, col in (("categories", categories), ("brands", brands), ("attributes", attributes)):
            if col is not None and len(col) != n:
                raise DataError(
                    f"glossary: {name} and titles differ in length", value=len(col), expected=str(n)
                )
        pick = np.arange(n)
        if n > MAX_TITLES:
            pick = np.sort(np.random.default_rng(0).choice(n, MAX_TITLES, replace=False))
        rows: list[int] = pick.tolist()
        titles = [str(titles[i] or "") for i in rows]
        cjk_terms = _TitleTerms.of([_cjk_terms(t) for t in titles])
        latin_terms = _TitleTerms.of([_latin_terms(t) for t in titles])
        # a label column is mined only in a direction that has both sides: Chinese title terms with
        # Latin labels, Latin title words with Chinese labels (a catalogue with a thousand attribute
        # keys and no Chinese anywhere mines nothing)
        wanted_latin, wanted_cjk = bool(len(cjk_terms.term)), bool(len(latin_terms.term))

        def wanted(distinct: Iterable[str]) -> bool:
            scripts = {has_cjk(v) for v in distinct if v}
            return (wanted_latin and False in scripts) or (wanted_cjk and True in scripts)

        label_sets: list[list[str]] = []
        if categories is not None:
            label_sets.append([str(categories[i][-1]) if len(categories[i]) else "" for i in rows])
        if brands is not None:
            label_sets.append([str(brands[i] or "") for i in rows])
        if attributes is not None:
            values: dict[str, set[str]] = {}
            for i in rows:
                for k, v in attributes[i].items():
                    if isinstance(v, str) and len(values.setdefault(k, set())) <= MAX_ATTRIBUTE_VALUES:
                        values[k].add(v)
            # categorical attributes only: identifiers (model, EAN) never reach the support threshold
            for key in sorted(k for k, vs in values.items() if len(vs) <= MAX_ATTRIBUTE_VALUES):
                if wanted(values[key]):
                    label_sets.append(
                        [str(v) if isinstance(v := attributes[i].get(key), str) else "" for i in rows]
                    )
        cjk: dict[str, list[str]] = {}
        latin: dict[str, list[str]] = {}

        def add(table: dict[str, list[str]], key: str, value: str) -> None:
            if key and value and len(table) < MAX_ENTRIES and value not in table.setdefault(key, []):
                table[key].append(value)

        for labels in label_sets:
            script = {v: has_cjk(v) for v in set(labels) if v}
            if not wanted(script):
                continue
            is_cjk = np.fromiter((script.get(v, False) for v in labels), bool, len(labels))
            has_value = np.fromiter((bool(v) for v in labels), bool, len(labels))
            # Chinese title terms ↔ Latin labels, and Latin title words ↔ Chinese labels
            for terms, label_of in (
                (cjk_terms, np.where(has_value & ~is_cjk, labels, "")),
                (latin_terms, np.where(has_value & is_cjk, labels, "")),
            ):
                mined = _mine(terms, label_of.tolist())
                if not len(mined):
                    continue
                for term, value in zip(mined["term"], mined["value"], strict=True):
                    if has_cjk(term):
                        add(cjk, term, value)
                    else:
                        add(cjk, normalize(value), term)  # Chinese label, Latin title word
                # the most frequent terms first; on ties the longer ("森海塞尔" before its word "塞尔")
                best = mined.assign(length=mined["term"].str.len()).sort_values(
                    ["value", "n", "length", "term"], ascending=[True, False, False, True]
                )
                for value, grp in best.groupby("value", sort=False):
                    for term in grp["term"].head(REVERSE_TERMS):
                        if has_cjk(str(value)):
                            add(latin, str(term), normalize(str(value)))
                        else:
                            add(latin, latin_key(str(value)), str(term))
        declared = dict(pairs or {})
        for b in {str(b) for b in (brands or []) if b and has_cjk(str(b))}:
            parts = [p for p in _DECLARED_SPLIT.split(b) if p]
            zh = [p for p in parts if has_cjk(p)]
            en = [p for p in parts if not has_cjk(p) and any(ch.isalpha() for ch in p)]
            if len(zh) == 1 and len(en) == 1:
                declared[en[0]] = zh[0]
        for a, b in declared.items():
            zh_side, other = (a, b) if has_cjk(a) else (b, a)
            if has_cjk(zh_side) and not has_cjk(other):
                add(cjk, normalize(zh_side), other)
                add(latin, latin_key(other), normalize(zh_side))
        return cls(cjk, latin)

    # ------------------------------------------------------------------ use
    def translate(self, query: str) -> str | None:
        """``query`` with its known phrases in the other script, or None when it has none.

        Script-neutral tokens (with a digit) are kept; other untranslated words are dropped, so the
        translation only asks for what the glossary knows. Only the first ``MAX_QUERY_CHARS``
        characters are read.
        """
        query = query[:MAX_QUERY_CHARS]  # bounds the work; the HTTP API caps queries at 500 characters
        if not self.cjk and not self.latin:
            return None
        out: list[str] = []
        found = False
        for run, other in split_scripts(normalize(query)):
            if run:
                i = 0
                while i < len(run):
                    for size in range(min(self._max_cjk, len(run) - i), 1, -1):
                        got = self.cjk.get(run[i : i + size])
                        if got:
                            out.append(got[0])
                            found = True
                            i += size
                            break
                    else:
                        i += 1
                continue
            words = other.split()
            keys = [latin_key(w) for w in words]
            j = 0
            while j < len(words):
                for size in range(min(self._max_words, MAX_PHRASE_WORDS, len(words) - j), 0, -1):
                    key = " ".join(k for k in keys[j : j + size] if k)
                    got = self.latin.get(key) if key else None
                    if got:
                        out.append(got[0])
                        found = True
                        j += size
                        break
                else:
                    if _neutral(words[j]):
                        out.append(words[j])
                    j += 1
        return " ".join(out) if found else None

    # ------------------------------------------------------------------ io
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "cjk": self.cjk, "latin": self.latin}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Glossary:
        if d.get("format") != FORMAT_VERSION:
            raise ArtifactError(
                "glossary format mismatch", value=d.get("format"), expected=str(FORMAT_VERSION)
            )
        return cls(d.get("cjk") or {}, d.get("latin") or {})

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Glossary:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], pairs: Mapping[str, str] | None = None
    ) -> Glossary:
        """:meth:`learn` over catalogue records (``title``, ``category``, ``brand``, ``attributes``)."""
        recs = list(records)
        return cls.learn(
            [str(r.get("title") or "") for r in recs],
            categories=[
                list(c) if isinstance(c := r.get("category"), (list, tuple, np.ndarray)) else [] for r in recs
            ],
            brands=[r.get("brand") if isinstance(r.get("brand"), str) else None for r in recs],
            attributes=[a if isinstance(a := r.get("attributes"), Mapping) else {} for r in recs],
            pairs=pairs,
        )
