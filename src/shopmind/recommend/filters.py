"""Business filters and boosts for shop recommendations, applied on item indices.

:class:`RecFilters` is what a caller asks for (in stock, category prefix, price range, exclude
seen/purchased/ids, multiplicative boosts); :class:`Catalog` holds the item facts they need in index
order; :func:`build_candidates` turns both into a boolean ``allowed`` mask and a ``boost`` vector.

Boosts multiply a score when it is positive and divide it when negative, so a boost > 1 always
moves an item up whatever the sign convention of the model's scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopmind.errors import ConfigError


def split_path(value: Any) -> tuple[str, ...]:
    """A category path from a list or a ``"A > B"`` / ``"A/B"`` string (root first)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        sep = ">" if ">" in value else "/"
        return tuple(p.strip() for p in value.split(sep) if p.strip())
    return tuple(str(p).strip() for p in value if str(p).strip())


def path_key(path: tuple[str, ...]) -> str:
    return " > ".join(p.lower() for p in path)


class RecFilters(BaseModel):
    """What to keep and how to boost. Every field is optional; defaults exclude only seen items."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_stock: bool = False
    category: str | None = Field(default=None, description="category path prefix, e.g. 'Electronics > Audio'")
    min_price: float | None = Field(default=None, ge=0)
    max_price: float | None = Field(default=None, ge=0)
    exclude_seen: bool = True
    exclude_purchased: bool = False
    exclude_ids: tuple[str, ...] = ()
    boosts: dict[str, float] = Field(default_factory=dict, description="item id → multiplier")
    brand_boosts: dict[str, float] = Field(default_factory=dict, description="brand → multiplier")
    category_boosts: dict[str, float] = Field(
        default_factory=dict, description="category path prefix → multiplier"
    )

    @field_validator("boosts", "brand_boosts", "category_boosts")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if not x > 0}
        if bad:
            raise ValueError(f"boost multipliers must be > 0, got {bad}")
        return v

    def model_post_init(self, __context: Any) -> None:
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ConfigError(
                "empty price range", value=(self.min_price, self.max_price), expected="min_price <= max_price"
            )


@dataclass
class Catalog:
    """Item facts in vocabulary order: titles, category paths, brands, prices, stock (NaN = unknown)."""

    ids: list[str]
    title: list[str]
    category: list[tuple[str, ...]]
    brand: list[str | None]
    price: np.ndarray
    stock: np.ndarray

    def __post_init__(self) -> None:
        self._keys = [path_key(p) for p in self.category]

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> Catalog:
        """From a Dataset's ``item_table`` (index = item ids in vocabulary order)."""
        n = len(table)

        def col(name: str) -> list[Any]:
            return table[name].tolist() if name in table.columns else [None] * n

        titles = [
            str(t) if isinstance(t, str) else str(i) for t, i in zip(col("title"), table.index, strict=True)
        ]
        brands = [str(b) if isinstance(b, str) and b else None for b in col("brand")]
        price = pd.to_numeric(pd.Series(col("price"), dtype=object), errors="coerce").to_numpy(np.float64)
        stock = pd.to_numeric(pd.Series(col("stock"), dtype=object), errors="coerce").to_numpy(np.float64)
        return cls(
            ids=[str(i) for i in table.index],
            title=titles,
            category=[split_path(c) for c in col("category")],
            brand=brands,
            price=price,
            stock=stock,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def update(self, frame: pd.DataFrame, index: dict[str, int]) -> int:
        """Refresh price/stock/title/category/brand from a store items frame; returns rows updated."""
        if frame is None or not len(frame):
            return 0
        ids = frame["id"].astype(str).tolist() if "id" in frame.columns else [str(i) for i in frame.index]
        fresh = Catalog.from_table(frame.set_index(pd.Index(ids)))
        n = 0
        for pos, item_id in enumerate(ids):
            i = index.get(item_id)
            if i is None:
                continue
            self.price[i], self.stock[i] = fresh.price[pos], fresh.stock[pos]
            self.title[i], self.category[i], self.brand[i] = (
                fresh.title[pos],
                fresh.category[pos],
                fresh.brand[pos],
            )
            self._keys[i] = path_key(fresh.category[pos])
            n += 1
        return n

    def category_mask(self, prefix: str | tuple[str, ...]) -> np.ndarray:
        """Items whose category path starts with ``prefix`` (case-insensitive, whole components)."""
        key = path_key(split_path(prefix))
        if not key:
            return np.ones(len(self), dtype=bool)
        return np.fromiter((k == key or k.startswith(key + " > ") for k in self._keys), bool, len(self))

    def in_stock(self) -> np.ndarray:
        """Unknown stock counts as available (a shop that does not track stock)."""
        return np.isnan(self.stock) | (self.stock > 0)

    def top_category(self, i: int) -> str | None:
        return self.category[i][-1] if self.category[i] else None

    # ---------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "ids": self.ids,
            "title": self.title,
            "category": [list(c) for c in self.category],
            "brand": self.brand,
        }
        (directory / "catalog.json").write_text(json.dumps(meta, ensure_ascii=False))
        np.savez(directory / "catalog.npz", price=self.price, stock=self.stock)

    @classmethod
    def load(cls, directory: Path) -> Catalog:
        meta = json.loads((directory / "catalog.json").read_text())
        with np.load(directory / "catalog.npz", allow_pickle=False) as arrays:
            price, stock = arrays["price"].copy(), arrays["stock"].copy()
        return cls(
            ids=meta["ids"],
            title=meta["title"],
            category=[tuple(c) for c in meta["category"]],
            brand=meta["brand"],
            price=price,
            stock=stock,
        )


def build_candidates(
    filters: RecFilters, catalog: Catalog, index: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``(allowed, boost)`` over items for ``filters`` (exclusion of seen/purchased is per user)."""
    n = len(catalog)
    allowed = np.ones(n, dtype=bool)
    if filters.in_stock:
        allowed &= catalog.in_stock()
    if filters.category:
        allowed &= catalog.category_mask(filters.category)
    if filters.min_price is not None:
        allowed &= catalog.price >= filters.min_price  # unknown price (NaN) fails a price filter
    if filters.max_price is not None:
        allowed &= catalog.price <= filters.max_price
    for item_id in filters.exclude_ids:
        i = index.get(str(item_id))
        if i is not None:
            allowed[i] = False
    boost = np.ones(n)
    for item_id, mult in filters.boosts.items():
        i = index.get(str(item_id))
        if i is not None:
            boost[i] *= mult
    if filters.brand_boosts:
        lower = {b.lower(): m for b, m in filters.brand_boosts.items()}
        for i, b in enumerate(catalog.brand):
            if b is not None and b.lower() in lower:
                boost[i] *= lower[b.lower()]
    for prefix, mult in filters.category_boosts.items():
        boost[catalog.category_mask(prefix)] *= mult
    return allowed, boost


def apply_boost(scores: np.ndarray, boost: np.ndarray | None) -> np.ndarray:
    """``s·b`` for ``s ≥ 0`` and ``s/b`` for ``s < 0`` (a boost > 1 always helps)."""
    if boost is None or np.all(boost == 1.0):
        return scores
    return np.where(scores >= 0, scores * boost, scores / boost)
