"""The data model: what a shop feeds shopmind.

Pydantic models validate one record at a time and name the offending field; bulk paths (ingest of
millions of events) validate column-wise with the same rules (``shopmind.ingest``) and use these
models for the rows they hand back. All timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

ID_PATTERN = r"^[^\s\x00-\x1f][^\x00-\x1f]{0,127}$"
"""External ids: 1–128 printable characters, not starting with white space."""


# Limits of free-form JSON fields (``attributes``). Every value is stored, indexed, serialised by
# orjson (which refuses > 255 levels and integers beyond 64 bits) and shown in pages, so it is bounded
# when it comes in: one record never makes serialisation, the search index or a page fail later.
JSON_MAX_DEPTH = 8
"""Nesting levels of objects/arrays (the field itself is level 1)."""
JSON_MAX_NODES = 1000
"""Object keys plus array elements, counted over the whole value."""
JSON_MAX_BYTES = 64 * 1024
"""Size of the value serialised as compact UTF-8 JSON."""
JSON_MAX_KEY_CHARS = 200
JSON_INT_RANGE = (-(2**63), 2**63 - 1)
"""Integers a 64-bit column, orjson and PostgreSQL's bigint can all hold."""
DB_INT_MAX = 2**31 - 1
"""Largest value of an ``INTEGER`` column on every backend (PostgreSQL's is 32-bit)."""


def _json_limit(path: str, detail: str) -> PydanticCustomError:
    return PydanticCustomError("json_limit", "{detail} at {path}", {"path": path, "detail": detail})


def check_json_value(value: Any, root: str = "") -> Any:
    """Check one JSON value against the ``JSON_MAX_*`` limits; returns it unchanged.

    Walks the value iteratively (a hostile depth cannot exhaust the Python stack) and raises a
    ``json_limit`` validation error naming the path of the first offending node (``a.b.0.c``),
    relative to the field (``root`` prefixes it). Keys must be strings, floats finite, integers
    inside :data:`JSON_INT_RANGE`.
    """
    nodes = 0
    stack: list[tuple[Any, str, int]] = [(value, root, 1)]
    while stack:
        node, path, depth = stack.pop()
        where = path or "(top)"
        if isinstance(node, dict | list):
            if depth > JSON_MAX_DEPTH:
                raise _json_limit(where, f"nested deeper than {JSON_MAX_DEPTH} levels")
            nodes += len(node)
            if nodes > JSON_MAX_NODES:
                raise _json_limit(where, f"more than {JSON_MAX_NODES} keys and array elements in all")
            if isinstance(node, dict):
                for key, child in node.items():
                    if not isinstance(key, str):
                        raise _json_limit(where, "object keys must be strings")
                    if len(key) > JSON_MAX_KEY_CHARS:
                        raise _json_limit(where, f"a key longer than {JSON_MAX_KEY_CHARS} characters")
                    stack.append((child, f"{path}.{key}" if path else key, depth + 1))
            else:
                for i, child in enumerate(node):
                    stack.append((child, f"{path}.{i}" if path else str(i), depth + 1))
        elif isinstance(node, bool) or node is None or isinstance(node, str):
            continue
        elif isinstance(node, int):
            if not JSON_INT_RANGE[0] <= node <= JSON_INT_RANGE[1]:
                raise _json_limit(where, "an integer outside the 64-bit range")
        elif isinstance(node, float):
            if node != node or node in (float("inf"), float("-inf")):
                raise _json_limit(where, "a number that is not finite")
        else:
            raise _json_limit(where, f"a {type(node).__name__}, not a JSON value")
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > JSON_MAX_BYTES:
        raise _json_limit(root or "(top)", f"{size} bytes of JSON, more than {JSON_MAX_BYTES}")
    return value


def error_field(err: Any, *, request: bool = False) -> str | None:
    """The dotted field of a pydantic error, down to the offending node of a JSON-limit error.

    ``request``: the error comes from FastAPI's request validation, whose location starts with
    where the value was (``body``, ``query``, ``path``, ``header``); that first part is dropped.
    """
    loc = [str(x) for x in err.get("loc", ())]
    if request and loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    inner = (err.get("ctx") or {}).get("path") if err.get("type") == "json_limit" else None
    if inner and inner != "(top)":
        loc.append(str(inner))
    return ".".join(loc) or None


JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_value)]
"""A free-form JSON object bounded by the ``JSON_MAX_*`` limits."""
Label = Annotated[str, StringConstraints(max_length=200)]
"""One category level or tag."""


class Record(BaseModel):
    """Base of every stored record: strict about unknown fields, immutable once built.

    Floats must be finite (NaN and infinities are not JSON and break sorting and sums downstream).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)


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
    description: str = Field(default="", max_length=100_000)
    category: list[Label] = Field(
        default_factory=list, max_length=20, description="category path, root first"
    )
    brand: str | None = Field(default=None, max_length=500)
    price: float | None = Field(default=None, ge=0, le=1e9)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    attributes: JsonObject = Field(default_factory=dict)
    stock: int | None = Field(default=None, ge=0, le=DB_INT_MAX)
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
    created_at: datetime | None = None
    image_url: str | None = Field(default=None, max_length=2048)

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
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    attributes: JsonObject = Field(default_factory=dict)
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
    query: str | None = Field(default=None, max_length=1000)
    session_id: str | None = Field(default=None, pattern=ID_PATTERN)
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
    lines: list[OrderLine] = Field(min_length=1, max_length=1000)
    status: OrderStatus = OrderStatus.PENDING
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    created_at: datetime
    updated_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    carrier: str | None = Field(default=None, max_length=200)
    tracking_number: str | None = Field(default=None, max_length=200)

    _utc = field_validator("created_at", "updated_at", "shipped_at", "delivered_at")(
        lambda cls, v: _utc(v) if v else v
    )

    @property
    def total(self) -> float:
        return round(sum(line.quantity * line.unit_price for line in self.lines), 2)


class Document(Record):
    """A help-centre page (shipping, returns, payment, warranty, ...)."""

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=1000)
    body: str = Field(min_length=1, max_length=1_000_000)
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
    tags: list[Label] = Field(default_factory=list, max_length=100)
    url: str | None = Field(default=None, max_length=2048)

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
    title: str = Field(default="", max_length=1000)
    text: str = Field(default="", max_length=100_000)
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
