"""Facet counts over a query's matches: category (every path level), brand, price bucket, attributes.

**Disjunctive facets** (Algolia, Meilisearch): a facet with a selection is counted over the matches
under every filter except its own (``relaxed[f]``), so a shopper who picked brand A still sees the
other brands' counts, while the other facets count the matches of every selection. Counting is one
``bincount`` per facet over the catalogue's integer codes (brand, category path, price bucket,
attribute value), so it costs the same whatever share of the catalogue matched.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from shopmind.catalog import Catalog

PRICE_EDGES = (10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
TOP_CATEGORIES = 30
TOP_VALUES = 20


def choose_facet_keys(records: Sequence[Mapping[str, Any]], n: int) -> list[str]:
    """The ``n`` attribute keys with the widest coverage that have 2–50 distinct values."""
    values: dict[str, set[str]] = {}
    cover: Counter[str] = Counter()
    for r in records:
        attrs = r.get("attributes")
        if isinstance(attrs, Mapping):
            for k, v in attrs.items():
                if isinstance(v, (str, int, bool)) and v != "":
                    cover[k] += 1
                    s = values.setdefault(k, set())
                    if len(s) <= 51:
                        s.add(str(v))
    return [k for k, _ in cover.most_common() if 2 <= len(values[k]) <= 50][:n]


def price_buckets(catalog: Catalog) -> np.ndarray:
    """Per row, the price bucket of :data:`PRICE_EDGES` (``-1`` = no price); cached until it changes."""

    def compute(c: Catalog) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            bucket = np.searchsorted(np.asarray(PRICE_EDGES), c.price, side="right")
        return np.where(np.isnan(c.price), -1, bucket).astype(np.int8)

    return catalog.derived("search.price_bucket", compute)


def category_levels(catalog: Catalog) -> tuple[list[str], sp.csr_matrix]:
    """Every path prefix ("A", "A > B", …) and a sparse ``[n_paths, n_prefixes]`` 0/1 matrix."""

    def compute(c: Catalog) -> tuple[list[str], sp.csr_matrix]:
        index: dict[str, int] = {}
        rows, cols = [], []
        for code, path in enumerate(c.cat_paths):
            parts = path.split(" > ")
            for depth in range(1, len(parts) + 1):
                rows.append(code)
                cols.append(index.setdefault(" > ".join(parts[:depth]), len(index)))
        matrix = sp.csr_matrix(
            (np.ones(len(rows), np.float64), (rows, cols)), shape=(len(c.cat_paths), len(index))
        )
        return list(index), matrix

    return catalog.derived("search.category_levels", compute)


def facet_counts(
    catalog: Catalog, match: np.ndarray, relaxed: Mapping[str, np.ndarray] | None = None
) -> dict[str, Any]:
    """Counts over ``match`` (a boolean row mask or row numbers); ``relaxed``: see the module docstring.

    Keys of ``relaxed``: ``"category"``, ``"brand"``, ``"price"``, ``"attr:<key>"``.
    """
    c = catalog
    rows = np.flatnonzero(match) if match.dtype == bool else np.asarray(match, np.int64)
    over = {f: np.flatnonzero(m) for f, m in (relaxed or {}).items()}

    def counts(codes: np.ndarray, n_codes: int, facet: str) -> np.ndarray:
        # code -1 (none) lands in slot 0, which is dropped
        return np.bincount(codes[over.get(facet, rows)] + 1, minlength=n_codes + 1)[1:]

    out: dict[str, Any] = {}
    prefixes, levels = category_levels(c)
    per_level = levels.T @ counts(c.cat_code, len(c.cat_paths), "category").astype(np.float64)
    top = np.argsort(-per_level, kind="stable")[:TOP_CATEGORIES]
    out["category"] = {prefixes[i]: int(per_level[i]) for i in top.tolist() if per_level[i] > 0}
    bcounts = counts(c.brand_code, len(c.brand_names), "brand")
    top = np.argsort(-bcounts, kind="stable")[:TOP_VALUES]
    out["brand"] = {c.brand_names[i]: int(bcounts[i]) for i in top.tolist() if bcounts[i] > 0}
    pcounts = counts(price_buckets(c), len(PRICE_EDGES) + 1, "price")
    edges = (0.0, *PRICE_EDGES, math.inf)
    out["price"] = {
        (f"{edges[i]:g}..{edges[i + 1]:g}" if math.isfinite(edges[i + 1]) else f"{edges[i]:g}..")
        : int(pcounts[i]) for i in range(len(pcounts)) if pcounts[i]
    }  # fmt: skip
    attrs: dict[str, dict[str, int]] = {}
    for key in c.attr_keys:
        acounts = counts(c.attr_code[key], len(c.attr_values[key]), f"attr:{key}")
        nz = np.argsort(-acounts, kind="stable")[:TOP_VALUES]
        vals = {c.attr_values[key][i]: int(acounts[i]) for i in nz.tolist() if acounts[i] > 0}
        if vals:
            attrs[key] = vals
    out["attributes"] = attrs
    return out
