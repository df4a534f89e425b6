"""The data model: what a shop feeds shopmind.

Pydantic models validate one record at a time and name the offending field; bulk paths (ingest of
millions of events) validate column-wise with the same rules (``shopmind.ingest``) and use these
models for the rows they hand back. All timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[^\s\x00-\x1f][^\x00-\x1f]{0,127}$"
"""External ids: 1–128 printable characters, not starting with white space."""


class Record(BaseModel):
    """Base of every stored record: strict about unknown fields, immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


class EventType(StrEnum):
    """Behaviour events, from weakest to strongest signal of interest."""

    VIEW = "view"
    CLICK = "click"
    SEARCH = "search"
    WISHLIST = "wishlist"
    CART = "cart"
    PURCHASE = "purchase"
    RATING = "rating"
    REVIEW = "review"
    RETURN = "return"


# Event types that must name an item (a search event names a query instead).
ITEM_EVENTS = frozenset(EventType) - {EventType.SEARCH}


class Item(Record):
    """A product in the catalogue."""

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=1000)
    description: str = ""
    category: list[str] = Field(default_factory=list, description="category path, root first")
    brand: str | None = None
    price: float | None = Field(default=None, ge=0, le=1e9)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    attributes: dict[str, Any] = Field(default_factory=dict)
    stock: int | None = Field(default=None, ge=0)
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
    created_at: datetime | None = None
    image_url: str | None = None

    _utc = field_validator("created_at")(lambda cls, v: _utc(v) if v else v)

    @field_validator("category", mode="before")
    @classmethod
    def _split_category(cls, v: Any) -> Any:
        # "Electronics > Audio > Headphones" and "Electronics/Audio" are common in exports.
        if isinstance(v, str):
            sep = ">" if ">" in v else "/"
            return [p.strip() for p in v.split(sep) if p.strip()]
        return v

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0


class User(Record):
    """A customer. ``email`` is used only for order-identity checks and never returned to others."""

    id: str = Field(pattern=ID_PATTERN)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    attributes: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None

    _utc = field_validator("created_at")(lambda cls, v: _utc(v) if v else v)


class Event(Record):
    """One behaviour event. ``id`` makes ingestion idempotent: the same id is stored once."""

    id: str = Field(pattern=ID_PATTERN)
    user_id: str = Field(pattern=ID_PATTERN)
    item_id: str | None = Field(default=None, pattern=ID_PATTERN)
    type: EventType
    value: float | None = Field(default=None, description="rating (1-5) or a numeric signal")
    quantity: int = Field(default=1, ge=1, le=100_000)
    query: str | None = None
    session_id: str | None = None
    timestamp: datetime

    _utc = field_validator("timestamp")(lambda cls, v: _utc(v))

    @model_validator(mode="after")
    def _check_kind(self) -> Event:
        if self.type in ITEM_EVENTS and not self.item_id:
            raise ValueError(f"a {self.type.value} event needs item_id")
        if self.type is EventType.SEARCH and not self.query:
            raise ValueError("a search event needs query")
        if self.type is EventType.RATING and (self.value is None or not 0 <= self.value <= 10):
            raise ValueError("a rating event needs value between 0 and 10")
        return self


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURN_REQUESTED = "return_requested"
    RETURNED = "returned"


class OrderLine(Record):
    item_id: str = Field(pattern=ID_PATTERN)
    quantity: int = Field(ge=1, le=100_000)
    unit_price: float = Field(ge=0, le=1e9)


class Order(Record):
    """A customer's order with its lines, status history end-points and tracking."""

    id: str = Field(pattern=ID_PATTERN)
    user_id: str = Field(pattern=ID_PATTERN)
    lines: list[OrderLine] = Field(min_length=1)
    status: OrderStatus = OrderStatus.PENDING
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    created_at: datetime
    updated_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None

    _utc = field_validator("created_at", "updated_at", "shipped_at", "delivered_at")(
        lambda cls, v: _utc(v) if v else v
    )

    @property
    def total(self) -> float:
        return round(sum(line.quantity * line.unit_price for line in self.lines), 2)


class Document(Record):
    """A help-centre page (shipping, returns, payment, warranty, ...)."""

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    body: str = Field(min_length=1)
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
    tags: list[str] = Field(default_factory=list)
    url: str | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _split_tags(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [t.strip() for t in v.replace(";", ",").split(",") if t.strip()]
        return v


class SalesPoint(Record):
    """Units of one item sold on one day (or week), with price and promotion as covariates."""

    item_id: str = Field(pattern=ID_PATTERN)
    date: date
    units: float = Field(ge=0)
    price: float | None = Field(default=None, ge=0)
    promo: bool = False


class Review(Record):
    """A product review with stars (1-5) and text."""

    id: str = Field(pattern=ID_PATTERN)
    user_id: str = Field(pattern=ID_PATTERN)
    item_id: str = Field(pattern=ID_PATTERN)
    rating: int = Field(ge=1, le=5)
    title: str = ""
    text: str = ""
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
    created_at: datetime

    _utc = field_validator("created_at")(lambda cls, v: _utc(v))


RECORD_TYPES: dict[str, type[Record]] = {
    "items": Item,
    "users": User,
    "events": Event,
    "orders": Order,
    "documents": Document,
    "sales": SalesPoint,
    "reviews": Review,
}
"""Ingestible entity kinds by name, as used by ``shopmind ingest KIND FILE``."""
