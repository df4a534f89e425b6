"""Business filters and boosts for shop recommendations, applied on item indices.

:class:`RecFilters` is what a caller asks for (in stock, category prefix, price range, exclude
seen/purchased/ids, multiplicative boosts); the item facts they need, in index order, are a
:class:`shopmind.catalog.Catalog` (the one catalogue class, shared with search);
:func:`build_candidates` turns both into a boolean ``allowed`` mask and a ``boost`` vector.

Boosts multiply a score when it is positive and divide it when negative, so a boost > 1 always
moves an item up whatever the sign convention of the model's scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopmind.catalog import Catalog
from shopmind.errors import ConfigError


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
        # one multiplier per distinct brand, read through the rows' brand codes (-1 = none reads 1.0)
        per_brand = np.array([lower.get(b.lower(), 1.0) for b in catalog.brand_names] + [1.0])
        boost *= per_brand[catalog.brand_code]
    for prefix, mult in filters.category_boosts.items():
        boost[catalog.category_mask(prefix)] *= mult
    return allowed, boost


def apply_boost(scores: np.ndarray, boost: np.ndarray | None) -> np.ndarray:
    """``s·b`` for ``s ≥ 0`` and ``s/b`` for ``s < 0`` (a boost > 1 always helps)."""
    if boost is None or np.all(boost == 1.0):
        return scores
    return np.where(scores >= 0, scores * boost, scores / boost)
