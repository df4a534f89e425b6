"""Search filters as boolean row masks over the :class:`~shopmind.catalog.Catalog`.

Keys: ``category`` (a path prefix ``"A > B"`` or ``["A", "B"]`` inside a list; a list of prefixes =
any of them), ``brand`` (one or a list = any), ``price`` (``"10..50"``, ``"..50"``, ``(lo, hi)`` or
``{"min", "max"}``), ``in_stock`` (bool), ``attributes.<key>`` / ``attr.<key>`` / any other key:
attribute equals (one or a list = any). Different keys AND. Category, brand, price and the facet
attributes are facets: their masks are kept apart (:class:`FilterMasks`) so each facet can be counted
without its own selection (disjunctive facets, see :mod:`shopmind.search.facets`). Names compare
after :func:`~shopmind.search.analyzers.normalize` (NFKC, lower case).

Every mask is a table look-up through the catalogue's integer codes, so a filter costs one vector
pass over the rows whatever it selects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from shopmind.catalog import Catalog, code_mask
from shopmind.errors import ConfigError
from shopmind.text import normalize


@dataclass
class FilterMasks:
    """A query's filters as row masks: ``base`` (alive + non-facet filters) and one per facet."""

    base: np.ndarray
    parts: dict[str, np.ndarray]  # "category" | "brand" | "price" | "attr:<key>" -> bool [n_rows]

    @property
    def mask(self) -> np.ndarray:
        return self.mask_without(None)

    def mask_without(self, facet: str | None) -> np.ndarray:
        m = self.base.copy()
        for name, part in self.parts.items():
            if name != facet:
                m &= part
        return m


def brand_keys(catalog: Catalog) -> list[str]:
    """The catalogue's brand names normalised for matching (cached until it changes)."""
    return catalog.derived("search.brand_keys", lambda c: [normalize(b).strip() for b in c.brand_names])


def path_keys(catalog: Catalog) -> list[str]:
    """The catalogue's category paths normalised for prefix matching (cached until it changes)."""
    return catalog.derived("search.path_keys", lambda c: [normalize(p) for p in c.cat_paths])


def filter_masks(catalog: Catalog, alive: np.ndarray, filters: Mapping[str, Any] | None) -> FilterMasks:
    """``filters`` (see the module docstring) as row masks; ``alive``: rows not deleted."""
    c = catalog
    base = alive.copy()
    parts: dict[str, np.ndarray] = {}

    def add(name: str, m: np.ndarray) -> None:
        parts[name] = parts[name] & m if name in parts else m

    for key, value in (filters or {}).items():
        if value is None or value == "":
            continue
        if key == "category":
            add("category", code_mask(c.cat_code, category_codes(c, value), len(c.cat_paths)))
        elif key == "brand":
            wanted = {normalize(v).strip() for v in as_list(value)}
            ok = [i for i, b in enumerate(brand_keys(c)) if b in wanted]
            add("brand", code_mask(c.brand_code, ok, len(c.brand_names)))
        elif key == "price":
            lo, hi = price_range(value)
            with np.errstate(invalid="ignore"):
                add("price", (c.price >= lo) & (c.price <= hi))
        elif key == "in_stock":
            want = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            base &= c.in_stock() if want else ~c.in_stock()
        else:
            attr = key.removeprefix("attributes.").removeprefix("attr.")
            wanted_s = {str(v) for v in as_list(value)}
            if attr in c.attr_code:
                ok = [i for i, v in enumerate(c.attr_values[attr]) if v in wanted_s]
                add(f"attr:{attr}", code_mask(c.attr_code[attr], ok, len(c.attr_values[attr])))
            else:  # not a facet: no codes, a scan of the attribute dicts
                base &= np.fromiter(
                    (str(a.get(attr)) in wanted_s if attr in a else False for a in c.attributes),
                    dtype=bool,
                    count=len(c.attributes),
                )
    return FilterMasks(base, parts)


def category_codes(catalog: Catalog, value: Any) -> list[int]:
    """Codes of the category paths under any of the prefixes in ``value``."""
    prefixes = [v.split(">") if isinstance(v, str) else list(v) for v in as_list(value)]
    keys = [" > ".join(normalize(str(p)).strip() for p in parts) for parts in prefixes]
    return [
        i for i, p in enumerate(path_keys(catalog)) if any(p == k or p.startswith(k + " > ") for k in keys)
    ]


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def price_range(value: Any) -> tuple[float, float]:
    """``(lo, hi)`` of a price filter: ``"10..50"``, ``"..50"``, ``"10.."``, ``(lo, hi)``, ``{min, max}``."""
    try:
        if isinstance(value, Mapping):
            lo, hi = value.get("min"), value.get("max")
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            lo, hi = value
        else:
            s = str(value)
            if ".." not in s:
                raise ValueError(s)
            lo_s, hi_s = s.split("..", 1)
            lo, hi = (lo_s or None), (hi_s or None)
        lo_f = float(lo) if lo not in (None, "") else -math.inf
        hi_f = float(hi) if hi not in (None, "") else math.inf
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            "bad price filter", value=value, expected="'10..50', '..50', '10..' or (lo, hi)"
        ) from exc
    if lo_f > hi_f:
        raise ConfigError("price filter minimum above maximum", value=value)
    return lo_f, hi_f
