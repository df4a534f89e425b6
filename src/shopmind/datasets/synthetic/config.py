"""Configuration of the synthetic shop: sizes, seed, time span and behaviour rates."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shopmind.errors import ConfigError

Size = Literal["tiny", "small", "demo", "large"]

PRESETS: dict[str, dict[str, int]] = {
    # tests: a second or two
    "tiny": {"n_items": 400, "n_users": 300, "n_events": 30_000, "n_sales_items": 40, "chunk_users": 300},
    # quick experiments
    "small": {
        "n_items": 3_000,
        "n_users": 1_500,
        "n_events": 120_000,
        "n_sales_items": 200,
        "chunk_users": 1_500,
    },
    # `make demo` and the load benchmark: ≈20k products
    "demo": {
        "n_items": 20_000,
        "n_users": 5_000,
        "n_events": 400_000,
        "n_sales_items": 1_000,
        "chunk_users": 2_500,
    },
    # benchmarks: 1M users × 100k items × 50M events, streamed
    "large": {
        "n_items": 100_000,
        "n_users": 1_000_000,
        "n_events": 50_000_000,
        "n_sales_items": 5_000,
        "chunk_users": 10_000,
    },
}


class ShopConfig(BaseModel):
    """Everything that determines the generated shop; the same config always yields the same files.

    ``n_events`` is a target: the simulator draws sessions so that the expected number of behaviour
    events (views, clicks, searches, carts, purchases, ratings, returns, wishlists) matches it.
    Events are simulated per block of ``chunk_users`` users with its own seeded generator, so memory is
    bounded by one block and the output does not depend on how blocks are consumed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: str = "custom"
    seed: int = 42
    n_items: int = Field(400, ge=10, le=5_000_000)
    n_users: int = Field(300, ge=5, le=50_000_000)
    n_events: int = Field(30_000, ge=100, le=2_000_000_000)
    n_sales_items: int = Field(40, ge=0, description="items with a daily sales history")
    chunk_users: int = Field(2_500, ge=1, le=1_000_000)
    end_date: date = Field(date(2026, 6, 30), description="last simulated day (fixed, not today)")
    days: int = Field(730, ge=60, le=3_650)
    zh_user_share: float = Field(0.4, ge=0, le=1, description="share of Chinese-speaking customers")
    zh_item_share: float = Field(0.3, ge=0, le=1, description="share of Chinese titles")
    mixed_item_share: float = Field(0.15, ge=0, le=1, description="share of mixed English/Chinese titles")
    search_rate: float = Field(0.35, ge=0, le=1, description="sessions that start with a search")
    cart_rate: float = Field(0.035, ge=0, le=1, description="base view → cart probability")
    purchase_rate: float = Field(0.4, ge=0, le=1, description="cart → purchase probability")
    rating_rate: float = Field(0.25, ge=0, le=1, description="purchases later rated")
    review_text_rate: float = Field(0.6, ge=0, le=1, description="ratings that come with a written review")
    typo_rate: float = Field(0.06, ge=0, le=1, description="search queries with a typo")
    out_of_stock_share: float = Field(0.08, ge=0, le=1)
    return_days: int = Field(30, ge=1, description="return window stated in the help centre")
    free_shipping_threshold: float = Field(49.0, ge=0, description="stated in the help centre")
    events_format: Literal["csv", "parquet"] = "csv"

    @model_validator(mode="after")
    def _check(self) -> ShopConfig:
        if self.n_sales_items > self.n_items:
            raise ValueError(f"n_sales_items ({self.n_sales_items}) exceeds n_items ({self.n_items})")
        if self.zh_item_share + self.mixed_item_share > 1:
            raise ValueError("zh_item_share + mixed_item_share must be <= 1")
        return self

    @classmethod
    def preset(cls, size: str = "tiny", **overrides: object) -> ShopConfig:
        """A size preset (``tiny``, ``small``, ``demo``, ``large``) with optional field overrides."""
        if size not in PRESETS:
            raise ConfigError("unknown shop size", value=size, expected=", ".join(PRESETS))
        values: dict[str, object] = {"size": size, **PRESETS[size]}
        if size == "large":
            values["events_format"] = "parquet"
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(
                f"invalid shop setting: {err['msg']}",
                value=err.get("input"),
                expected=f"a valid value for {'.'.join(str(p) for p in err['loc']) or 'the config'}",
            ) from exc

    @property
    def start_date(self) -> date:
        from datetime import timedelta

        return self.end_date - timedelta(days=self.days - 1)
