"""The product catalogue as columns: one :class:`Catalog` for search and recommendations.

Rows are products in a fixed order (the search index's rows, or a recommender's item vocabulary).
Each column is a list or a NumPy array of the same length: ids, titles, descriptions, brands,
category paths, attribute dicts, prices, stock levels and creation times. Brands, category paths and
a chosen set of attributes are also dictionary-encoded — one ``int32`` code per row into a list of
distinct values, ``-1`` for none — so filters and facet counts are table look-ups and ``bincount``s
over codes instead of passes over Python objects.

One parsing rule for every caller: ``category`` is a list (root first) or a ``"A > B"`` / ``"A/B"``
string (:func:`split_path`); a brand is a non-blank string; price and stock are numbers (anything
else, and a missing value, is NaN); unknown stock counts as in stock (a shop that does not track it);
a product without a title shows its id.

Persistence (no pickle): ``catalog.json`` (the Python-object columns) and ``catalog.npz`` (the numeric
ones). Codes and derived columns are rebuilt on load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from shopmind.errors import ArtifactError

T = TypeVar("T")

_JSON_COLUMNS = ("ids", "title", "description", "brand", "category", "attributes")
_NUMERIC_COLUMNS = ("price", "stock", "created")


def split_path(value: Any) -> tuple[str, ...]:
    """A category path from a list or a ``"A > B"`` / ``"A/B"`` string (root first)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        sep = ">" if ">" in value else "/"
        return tuple(p.strip() for p in value.split(sep) if p.strip())
    return tuple(str(p).strip() for p in value if str(p).strip())


def path_key(path: tuple[str, ...]) -> str:
    """A category path as a case-insensitive key: ``("Home", "Kitchen")`` → ``"home > kitchen"``."""
    return " > ".join(p.lower() for p in path)


def field_text(value: Any) -> str:
    """A product field as text: lists joined (category paths), dicts as ``key value`` pairs."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return " ".join(f"{k} {field_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(field_text(v) for v in value)
    return str(value)


def epoch_seconds(value: Any) -> float:
    """A timestamp (string, datetime, number) as UTC epoch seconds; naive times are UTC; else NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return math.nan
    if ts is pd.NaT:
        return math.nan
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return float(ts.timestamp())


def _numbers(values: Sequence[Any]) -> np.ndarray:
    """Numbers as float64; anything that is not one (None, "", "n/a") becomes NaN."""
    if not len(values):
        return np.zeros(0, np.float64)
    return pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(np.float64)


def records_of(items: pd.DataFrame | Iterable[Mapping[str, Any] | Any]) -> list[dict[str, Any]]:
    """Product records as dicts with a string ``id``: from a frame (``id`` column or index) or models."""
    if isinstance(items, pd.DataFrame):
        frame = items if "id" in items.columns else items.assign(id=items.index)
        recs = frame.to_dict("records")
    else:
        recs = [dict(getattr(r, "model_dump", lambda r=r: r)()) for r in items]
    for r in recs:
        r["id"] = str(r["id"])
    return [dict(r) for r in recs]


class Catalog:
    """Product facts in row order, with dictionary codes for brands, category paths and some attributes.

    ``coded_attributes``: attribute keys whose values get codes (``attr_values[key]``,
    ``attr_code[key]``), e.g. the search facets; other attributes are only kept in ``attributes``.
    """

    def __init__(self, coded_attributes: Sequence[str] = ()) -> None:
        self.ids: list[str] = []
        self.title: list[str] = []
        self.description: list[str] = []
        self.brand: list[str | None] = []
        self.category: list[tuple[str, ...]] = []
        self.attributes: list[dict[str, Any]] = []
        self.price = np.zeros(0, np.float64)  # NaN = unknown (fails a price filter)
        self.stock = np.zeros(0, np.float64)  # NaN = unknown (counts as in stock)
        self.created = np.zeros(0, np.float64)  # epoch seconds, NaN = unknown
        self.brand_names: list[str] = []
        self.brand_code = np.zeros(0, np.int32)
        self.cat_paths: list[str] = []  # "A > B > C" (parts stripped, case kept)
        self.cat_code = np.zeros(0, np.int32)
        self.attr_keys: list[str] = list(coded_attributes)
        self.attr_values: dict[str, list[str]] = {k: [] for k in self.attr_keys}
        self.attr_code: dict[str, np.ndarray] = {k: np.zeros(0, np.int32) for k in self.attr_keys}
        self._index: dict[str, dict[str, int]] = {}  # value -> code, per coded column
        self._derived: dict[str, Any] = {}  # cached columns derived from the others; cleared on change

    def __len__(self) -> int:
        return len(self.ids)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_records(
        cls, records: Sequence[Mapping[str, Any]], coded_attributes: Sequence[str] = ()
    ) -> Catalog:
        """From product records (``Item`` fields: id, title, description, brand, category, …)."""
        catalog = cls(coded_attributes)
        catalog.append(records)
        return catalog

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> Catalog:
        """From a Dataset's ``item_table`` (index = item ids in vocabulary order)."""
        frame = table.drop(columns="id", errors="ignore").assign(id=[str(i) for i in table.index])
        return cls.from_records(frame.to_dict("records"))

    @staticmethod
    def _title(value: Any, item_id: str) -> str:
        return value if isinstance(value, str) and value else item_id

    @staticmethod
    def _brand(value: Any) -> str | None:
        return value if isinstance(value, str) and value.strip() else None

    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Add rows at the end (a changed product's new version is a new row; see search's tombstones)."""
        ids = [str(r["id"]) for r in records]
        self.ids.extend(ids)
        self.title.extend(self._title(r.get("title"), i) for r, i in zip(records, ids, strict=True))
        self.description.extend(field_text(r.get("description")) for r in records)
        brands = [self._brand(r.get("brand")) for r in records]
        self.brand.extend(brands)
        cats = [split_path(r.get("category")) for r in records]
        self.category.extend(cats)
        attrs = [dict(a) if isinstance(a := r.get("attributes"), Mapping) else {} for r in records]
        self.attributes.extend(attrs)
        self.price = np.concatenate([self.price, _numbers([r.get("price") for r in records])])
        self.stock = np.concatenate([self.stock, _numbers([r.get("stock") for r in records])])
        created = np.asarray([epoch_seconds(r.get("created_at")) for r in records], np.float64)
        self.created = np.concatenate([self.created, created])
        self.brand_code = np.concatenate([self.brand_code, self._codes("brand", self.brand_names, brands)])
        paths = [" > ".join(c) or None for c in cats]
        self.cat_code = np.concatenate([self.cat_code, self._codes("category", self.cat_paths, paths)])
        for k in self.attr_keys:
            values = [_attr_value(a.get(k)) for a in attrs]
            codes = self._codes(f"attr:{k}", self.attr_values[k], values)
            self.attr_code[k] = np.concatenate([self.attr_code[k], codes])
        self._derived.clear()

    def _codes(self, column: str, names: list[str], values: Sequence[str | None]) -> np.ndarray:
        """Codes of ``values`` in ``names`` (new values are appended to ``names``); ``None`` → -1."""
        index = self._index.get(column)
        if index is None or len(index) != len(names):
            index = self._index[column] = {n: i for i, n in enumerate(names)}
        out = np.empty(len(values), np.int32)
        for pos, value in enumerate(values):
            if value is None:
                out[pos] = -1
                continue
            code = index.get(value)
            if code is None:
                code = index[value] = len(names)
                names.append(value)
            out[pos] = code
        return out

    def update(self, frame: pd.DataFrame | None, index: Mapping[str, int]) -> int:
        """Refresh title, brand, category, price and stock in place from a store items frame.

        ``index``: item id → row; ids not in it are skipped. Returns the number of rows updated.
        """
        if frame is None or not len(frame):
            return 0
        fresh = Catalog.from_records(records_of(frame))
        rows, pos = [], []
        for p, item_id in enumerate(fresh.ids):
            r = index.get(item_id)
            if r is not None:
                rows.append(r)
                pos.append(p)
        for r, p in zip(rows, pos, strict=True):
            self.title[r], self.brand[r], self.category[r] = fresh.title[p], fresh.brand[p], fresh.category[p]
        if rows:
            self.price[rows], self.stock[rows] = fresh.price[pos], fresh.stock[pos]
            self.brand_code[rows] = self._codes("brand", self.brand_names, [fresh.brand[p] for p in pos])
            paths = [" > ".join(fresh.category[p]) or None for p in pos]
            self.cat_code[rows] = self._codes("category", self.cat_paths, paths)
            self._derived.clear()
        return len(rows)

    # ---------------------------------------------------------------- derived columns
    def derived(self, name: str, compute: Callable[[Catalog], T]) -> T:
        """``compute(self)``, cached under ``name`` until the catalogue changes (append / update)."""
        if name not in self._derived:
            self._derived[name] = compute(self)
        value: T = self._derived[name]
        return value

    def in_stock(self) -> np.ndarray:
        """Rows in stock (bool): stock > 0, or stock unknown (a shop that does not track stock)."""
        return self.derived("in_stock", lambda c: np.isnan(c.stock) | (c.stock > 0))

    def category_mask(self, prefix: str | tuple[str, ...]) -> np.ndarray:
        """Rows whose category path starts with ``prefix`` (case-insensitive, whole components)."""
        key = path_key(split_path(prefix))
        if not key:
            return np.ones(len(self), dtype=bool)
        keys = self.derived("path_keys", lambda c: [p.lower() for p in c.cat_paths])
        wanted = [i for i, k in enumerate(keys) if k == key or k.startswith(key + " > ")]
        return code_mask(self.cat_code, wanted, len(self.cat_paths))

    def top_category(self, i: int) -> str | None:
        """The deepest category of row ``i``."""
        return self.category[i][-1] if self.category[i] else None

    # ---------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        """``catalog.json`` + ``catalog.npz`` in ``directory`` (created)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {k: getattr(self, k) for k in _JSON_COLUMNS}
        meta["category"] = [list(c) for c in self.category]
        meta["coded_attributes"] = self.attr_keys
        (directory / "catalog.json").write_text(
            json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8"
        )
        np.savez(directory / "catalog.npz", **{k: getattr(self, k) for k in _NUMERIC_COLUMNS})

    @classmethod
    def load(cls, directory: Path) -> Catalog:
        """What :meth:`save` wrote; codes and derived columns are rebuilt."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "catalog.json").read_text(encoding="utf-8"))
            with np.load(directory / "catalog.npz", allow_pickle=False) as z:
                arrays = {k: z[k].astype(np.float64) for k in _NUMERIC_COLUMNS if k in z.files}
        except (OSError, ValueError) as exc:
            raise ArtifactError("catalogue artifacts unreadable", value=str(directory)) from exc
        missing = [k for k in ("ids", "title", "brand", "category") if k not in meta] + [
            k for k in ("price", "stock") if k not in arrays
        ]
        if missing:
            raise ArtifactError(
                "catalogue artifacts incomplete", value=missing, expected="retrain (shopmind train)"
            )
        n = len(meta["ids"])
        c = cls(meta.get("coded_attributes", ()))
        c.ids = [str(i) for i in meta["ids"]]
        c.title = list(meta["title"])
        c.description = list(meta.get("description") or [""] * n)
        c.brand = list(meta["brand"])
        c.category = [tuple(p) for p in meta["category"]]
        c.attributes = [dict(a) for a in meta.get("attributes") or [{}] * n]
        c.price, c.stock = arrays["price"], arrays["stock"]
        c.created = arrays.get("created", np.full(n, np.nan))
        c.brand_code = c._codes("brand", c.brand_names, c.brand)
        c.cat_code = c._codes("category", c.cat_paths, [" > ".join(p) or None for p in c.category])
        for k in c.attr_keys:
            c.attr_code[k] = c._codes(
                f"attr:{k}", c.attr_values[k], [_attr_value(a.get(k)) for a in c.attributes]
            )
        return c


def code_mask(codes: np.ndarray, wanted: Iterable[int], n_codes: int) -> np.ndarray:
    """``codes ∈ wanted`` as a table look-up (code -1, "none", reads the table's extra False slot)."""
    table = np.zeros(n_codes + 1, bool)
    table[list(wanted)] = True
    return table[codes]


def _attr_value(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
