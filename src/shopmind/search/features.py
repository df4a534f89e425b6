"""Ranking signals per product and the learned ranker's feature matrix (:data:`~shopmind.search.ltr.FEATURES`).

:class:`RankSignals` holds what the shop's behaviour says about each catalogue row — popularity
(distinct users), mean rating and smoothed click-through rate — row-aligned with the catalogue and
saved beside it. :func:`feature_matrix` turns a query's candidates into one row of features per
product (per-field BM25, coverage, title matches, ranks, cosine, signals, price, stock, affinity).
:func:`affinity_vector` turns a user's brand/category affinities into a per-row score in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shopmind.catalog import Catalog
from shopmind.errors import ArtifactError, ConfigError
from shopmind.search.lexical import LexicalIndex
from shopmind.search.ltr import FEATURES
from shopmind.search.retrieval import Candidates
from shopmind.search.semantic import SemanticIndex
from shopmind.text import normalize

SIGNALS = ("popularity", "rating", "ctr")


@dataclass
class RankSignals:
    """Behaviour signals per catalogue row: popularity (≥ 0), rating (NaN = none), CTR in [0, 1]."""

    popularity: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    rating: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    ctr: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))

    def __len__(self) -> int:
        return len(self.popularity)

    def append(self, ids: list[str], stats: Mapping[str, Mapping[str, float]]) -> None:
        """Rows for ``ids`` from ``stats[signal][id]`` (missing: popularity 0, rating NaN, CTR 0)."""
        pop, rating, ctr = (stats.get(s, {}) for s in SIGNALS)
        self.popularity = np.concatenate(
            [self.popularity, np.asarray([float(pop.get(i, 0.0)) for i in ids], np.float64)]
        )
        self.rating = np.concatenate(
            [self.rating, np.asarray([float(rating.get(i, math.nan)) for i in ids], np.float64)]
        )
        self.ctr = np.concatenate([self.ctr, np.asarray([float(ctr.get(i, 0.0)) for i in ids], np.float64)])

    def save(self, path: Path) -> None:
        np.savez(path / "signals.npz", popularity=self.popularity, rating=self.rating, ctr=self.ctr)

    @classmethod
    def load(cls, path: Path) -> RankSignals:
        try:
            with np.load(path / "signals.npz", allow_pickle=False) as z:
                return cls(*(z[s].astype(np.float64) for s in SIGNALS))
        except (OSError, KeyError, ValueError) as exc:
            raise ArtifactError("search ranking signals unreadable", value=str(path / "signals.npz")) from exc


def feature_matrix(
    q: Candidates,
    rows: np.ndarray,
    *,
    catalog: Catalog,
    signals: RankSignals,
    lexical: LexicalIndex,
    semantic: SemanticIndex | None,
    affinity: np.ndarray | None = None,
) -> np.ndarray:
    """Feature matrix ``[len(rows), len(FEATURES)]`` for the learned ranker (see ``ltr``)."""
    rows = np.asarray(rows, np.int64)
    n = len(rows)
    X = np.zeros((n, len(FEATURES)), np.float32)
    if not n:
        return X
    c = catalog
    m = q.match
    if m is None and q.groups:
        m = lexical.match(q.groups, per_field=True)
    if m is not None and m.field_coverage is None:
        m = lexical.match(q.groups, per_field=True)
    ng = max(len(q.groups), 1)
    col = {f: i for i, f in enumerate(FEATURES)}
    if m is not None:
        for f in ("title", "brand", "category", "attributes", "description"):
            if f in m.field_scores:
                X[:, col[f"bm25_{f}"]] = m.field_scores[f][rows]
        X[:, col["bm25_total"]] = m.score[rows]
        X[:, col["coverage"]] = m.coverage[rows] / ng
        if m.field_coverage and "title" in m.field_coverage:
            X[:, col["title_coverage"]] = m.field_coverage["title"][rows] / ng
    qn = " ".join(normalize(q.text).split())
    # per candidate (at most rerank_n rows): string tests on titles have no vector form
    for i, r in enumerate(rows.tolist()):
        title = " ".join(normalize(c.title[r]).split())
        X[i, col["phrase_in_title"]] = float(bool(qn) and qn in title)
        X[i, col["title_prefix"]] = float(bool(qn) and title.startswith(qn))
        b = c.brand[r]
        X[i, col["brand_in_query"]] = float(bool(b) and normalize(b).strip() in qn)
        X[i, col["lex_rank_log"]] = math.log2(1 + q.lex_rank.get(r, 1000))
        X[i, col["sem_rank_log"]] = math.log2(1 + q.sem_rank.get(r, 1000))
        X[i, col["title_terms"]] = len(title.split())
    if semantic is not None:
        if q.qv is None:
            q.qv = semantic.embed_query(q.text)
        X[:, col["cosine"]] = semantic.similarities(q.qv, rows)
    X[:, col["popularity_log"]] = np.log1p(signals.popularity[rows])
    X[:, col["ctr"]] = signals.ctr[rows]
    price = c.price[rows]
    X[:, col["price_log"]] = np.where(np.isnan(price), -1.0, np.log1p(np.nan_to_num(price)))
    X[:, col["in_stock"]] = c.in_stock()[rows].astype(np.float32)
    X[:, col["rating"]] = np.nan_to_num(signals.rating[rows], nan=0.0)
    if affinity is not None:
        X[:, col["affinity"]] = affinity[rows]
    X[:, col["query_words"]] = len(q.groups)
    return X


def affinity_vector(catalog: Catalog, affinity: Mapping[str, float] | None) -> np.ndarray | None:
    """Per-row affinity in [0, 1] from ``{"brand:Sony": w, "category:Audio": w}`` (max over matches)."""
    if not affinity:
        return None
    c = catalog
    brand_w: dict[str, float] = {}
    cat_w: dict[str, float] = {}
    for key, w in affinity.items():
        kind, _, name = key.partition(":")
        target = brand_w if kind == "brand" else cat_w if kind == "category" else None
        if target is None or not name:
            raise ConfigError("affinity keys are 'brand:<name>' or 'category:<name>'", value=key)
        target[normalize(name).strip()] = max(float(w), target.get(normalize(name).strip(), 0.0))
    top = max([*brand_w.values(), *cat_w.values(), 1e-9])
    by_brand = np.array([brand_w.get(normalize(b).strip(), 0.0) for b in c.brand_names] + [0.0])
    by_cat = np.array(
        [
            max((cat_w.get(normalize(p).strip(), 0.0) for p in path.split(" > ")), default=0.0)
            for path in c.cat_paths
        ]
        + [0.0]
    )
    vec = np.maximum(by_brand[c.brand_code], by_cat[c.cat_code]) / top
    return vec.astype(np.float64)
