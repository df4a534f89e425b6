"""The store's SQLAlchemy tables and the column type of every timestamp (UTC epoch microseconds).

Only definitions: the queries live in :mod:`shopmind.store.sql` and :mod:`shopmind.store.queries`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shopmind.errors import DataError

SCHEMA_VERSION = 1


# ---------------------------------------------------------------------------- column types
class UtcMicros(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime stored as BIGINT epoch microseconds (naive input = UTC)."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if not isinstance(value, datetime):
            raise DataError("not a datetime", value=value, expected="a datetime")
        return to_micros(value)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        return None if value is None else from_micros(int(value))


def to_micros(value: datetime) -> int:
    """Epoch microseconds of ``value`` (naive datetimes are taken as UTC), exact integer arithmetic."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, tz=UTC).replace(microsecond=value % 1_000_000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
JSONType = sa.JSON().with_variant(pg.JSONB(), "postgresql")

# ---------------------------------------------------------------------------- tables
metadata = sa.MetaData()

items_t = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("category", JSONType, nullable=False),
    sa.Column("brand", sa.Text),
    sa.Column("price", sa.Float),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("stock", sa.Integer),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("created_at", UtcMicros),
    sa.Column("image_url", sa.Text),
)

users_t = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("email", sa.Text),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("created_at", UtcMicros),
)

events_t = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("item_id", sa.String(128)),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("query", sa.Text),
    sa.Column("session_id", sa.String(128)),
    sa.Column("timestamp", UtcMicros, nullable=False),
    sa.Index("ix_events_user_ts", "user_id", "timestamp"),
    sa.Index("ix_events_item", "item_id"),
    sa.Index("ix_events_ts", "timestamp"),
)
EVENT_COLUMNS = ("id", "user_id", "item_id", "type", "value", "quantity", "query", "session_id", "timestamp")

orders_t = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("user_id", sa.String(128), nullable=False, index=True),
    sa.Column("lines", JSONType, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("created_at", UtcMicros, nullable=False),
    sa.Column("updated_at", UtcMicros),
    sa.Column("shipped_at", UtcMicros),
    sa.Column("delivered_at", UtcMicros),
    sa.Column("carrier", sa.Text),
    sa.Column("tracking_number", sa.Text),
)

documents_t = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("language", sa.String(16), nullable=False, index=True),
    sa.Column("tags", JSONType, nullable=False),
    sa.Column("url", sa.Text),
)

sales_t = sa.Table(
    "sales",
    metadata,
    sa.Column("item_id", sa.String(128), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("units", sa.Float, nullable=False),
    sa.Column("price", sa.Float),
    sa.Column("promo", sa.Boolean, nullable=False),
)

reviews_t = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("user_id", sa.String(128), nullable=False, index=True),
    sa.Column("item_id", sa.String(128), nullable=False, index=True),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("created_at", UtcMicros, nullable=False),
)

search_log_t = sa.Table(
    "search_log",
    metadata,
    sa.Column("search_id", sa.String(64), primary_key=True),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("user_id", sa.String(128), index=True),
    sa.Column("n_results", sa.Integer, nullable=False),
    sa.Column("result_ids", JSONType, nullable=False),
    sa.Column("at", UtcMicros, nullable=False, index=True),
)

click_log_t = sa.Table(
    "click_log",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("search_id", sa.String(64), nullable=False, index=True),
    sa.Column("item_id", sa.String(128), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("at", UtcMicros, nullable=False),
)

messages_t = sa.Table(
    "messages",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("conversation_id", sa.String(128), nullable=False, index=True),
    sa.Column("user_id", sa.String(128)),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("meta", JSONType, nullable=False),
    sa.Column("at", UtcMicros, nullable=False),
)

tickets_t = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("conversation_id", sa.String(128), nullable=False, index=True),
    sa.Column("user_id", sa.String(128)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("transcript", JSONType, nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("created_at", UtcMicros, nullable=False),
)

# Every change of a ticket (status, assignee, note), oldest first by seq; deleted with its ticket.
ticket_updates_t = sa.Table(
    "ticket_updates",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column(
        "ticket_id",
        sa.String(128),
        sa.ForeignKey("tickets.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("previous_status", sa.String(32), nullable=False),
    sa.Column("assignee", sa.String(128)),
    sa.Column("note", sa.Text),
    sa.Column("changed_by", sa.String(128)),
    sa.Column("at", UtcMicros, nullable=False),
)

api_keys_t = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("scopes", JSONType, nullable=False),
    sa.Column("key_hash", sa.Text, nullable=False),
    sa.Column("prefix", sa.String(64), nullable=False, index=True),
    sa.Column("user_id", sa.String(128)),
    sa.Column("created_at", UtcMicros, nullable=False),
    sa.Column("revoked_at", UtcMicros),
)

# Catalogue change log: one row per item written (inserted or changed) or deleted, in commit order.
# Search workers poll it to apply other processes' updates (shopmind.search.service.SearchService.sync).
item_changes_t = sa.Table(
    "item_changes",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("item_id", sa.String(128), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("at", UtcMicros, nullable=False),
)

# Training attempts, shared by every worker process (one row per artifact run; see TrainingRunRecord).
training_runs_t = sa.Table(
    "training_runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("components", sa.JSON),
    sa.Column("owner", sa.JSON, nullable=False),
    sa.Column("started_at", UtcMicros, nullable=False, index=True),
    sa.Column("heartbeat_at", UtcMicros, nullable=False),
    sa.Column("finished_at", UtcMicros),
    sa.Column("seconds", sa.Float),
    sa.Column("error", sa.Text),
    sa.Column("progress", sa.JSON, nullable=False),
)

meta_t = sa.Table(
    "shopmind_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Audit log and rate-limit counters of anonymous order look-ups (shopmind.assistant.tools.VerificationGuard):
# in the store, so every API worker counts the same failures.
identity_checks_t = sa.Table(
    "identity_checks",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("at", UtcMicros, nullable=False, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("order_id", sa.String(128)),
    sa.Column("key_id", sa.String(128)),
    sa.Column("client_ip", sa.String(64)),
    sa.Column("conversation_id", sa.String(128)),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Index("ix_identity_checks_order", "order_id", "outcome", "at"),
    sa.Index("ix_identity_checks_key", "key_id", "outcome", "at"),
    sa.Index("ix_identity_checks_ip", "client_ip", "outcome", "at"),
)

# Privacy operations (shopmind.privacy): one row per erasure or retention purge. No personal data:
# the subject is an HMAC of the customer id under the store's random salt (shopmind_meta).
privacy_audit_t = sa.Table(
    "privacy_audit",
    metadata,
    sa.Column(
        "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("at", UtcMicros, nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("subject_hash", sa.String(64)),
    sa.Column("requested_by", sa.String(128), nullable=False),
    sa.Column("details", JSONType, nullable=False),
)

# Customers erased by shopmind.privacy.erase_customer, named by the audit's salted hash (no personal
# data): customer tokens issued before the erasure are refused (shopmind.api.auth.CustomerTokens).
erased_customers_t = sa.Table(
    "erased_customers",
    metadata,
    sa.Column("subject_hash", sa.String(64), primary_key=True),
    sa.Column("at", UtcMicros, nullable=False),
)

COUNTED_TABLES = (
    items_t,
    users_t,
    events_t,
    orders_t,
    documents_t,
    sales_t,
    reviews_t,
    search_log_t,
    click_log_t,
    messages_t,
    tickets_t,
    api_keys_t,
)
