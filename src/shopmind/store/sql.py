"""The SQLAlchemy 2 (Core) backend of the :class:`~shopmind.store.base.Store` contract.

One code path serves ``sqlite:///path`` (the default: WAL journal, busy timeout, one engine pool shared
by the web server's threads) and ``postgresql://...`` (psycopg 3, driver ``postgresql+psycopg``).

Storage choices, and why:

* every timestamp is stored as **UTC epoch microseconds** (BIGINT). SQLite has no time-zone aware
  type and text datetimes are slow to bind; integers are exact, sort correctly, and bulk paths move
  numpy ``int64`` columns without per-row conversion. Reads hand back timezone-aware UTC datetimes;
* nested fields (category path, attributes, tags, order lines, transcripts) are JSON columns
  (``JSONB`` on PostgreSQL);
* every batch is one transaction (all or nothing); events are inserted with
  ``INSERT ... ON CONFLICT (id) DO NOTHING`` so re-sending an event id is counted as a duplicate.
  The bulk path (:meth:`SqlStore.add_events_frame`) uses the driver's ``executemany`` on SQLite and
  ``COPY`` into a temporary table followed by one ``INSERT ... SELECT ... ON CONFLICT`` on PostgreSQL;
* upserts of items, users, orders, documents and reviews compare against the stored rows first, so a
  :class:`WriteResult` says exactly how many rows were new (``inserted``), changed (``updated``) or
  identical to what was stored (``duplicates``, nothing written for them).
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from shopmind.data import setaside
from shopmind.data.dataset import EVENT_TYPES, Dataset, EventWeights
from shopmind.data.schema import (
    Document,
    Event,
    Item,
    Order,
    OrderStatus,
    Review,
    SalesPoint,
    User,
    now_utc,
)
from shopmind.errors import DataError, PermissionDenied, StoreError, UnknownIdError
from shopmind.privacy import erased_user_id, redact_pii, redact_value, subject_hash
from shopmind.store.base import ApiKeyRecord, IdentityCheck, Ticket, TrainingRunRecord, WriteResult
from shopmind.store.querylog import QueryLogWriter

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_IN_CHUNK = 900  # ids per IN (...) list: below SQLite's historic 999-variable limit
_EVENT_BULK_ROWS = 50_000  # rows handed to executemany / COPY at a time (bounds memory)


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


# ---------------------------------------------------------------------------- helpers
def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3; anything else is passed to SQLAlchemy."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _none_if_nan(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _dedupe_last(rows: list[dict[str, Any]], key: tuple[str, ...]) -> tuple[list[dict[str, Any]], int]:
    """Keep the last row per key (a batch naming one id twice means "the latest wins")."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        out[tuple(row[k] for k in key)] = row
    return list(out.values()), len(rows) - len(out)


class SqlStore:
    """SQLAlchemy-backed :class:`~shopmind.store.base.Store` (see the module docstring).

    ``SqlStore("sqlite:///var/shop.db")`` creates the file and its tables; ``SqlStore("postgresql://
    user@host:5432/db")`` creates the tables in an existing database. Instances are thread-safe: each
    call checks a connection out of the engine's pool.
    """

    def __init__(self, url: str, *, echo: bool = False, create: bool = True) -> None:
        self.url = url
        sa_url = normalise_url(url)
        self.dialect_name = sa.engine.make_url(sa_url).get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect_name == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            database = sa.engine.make_url(sa_url).database
            if database in (None, "", ":memory:"):
                # One shared connection, else every pooled connection would see its own empty database.
                kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = sa.create_engine(sa_url, **kwargs)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open store: {exc}", value=url) from exc
        if self.dialect_name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._lock = threading.Lock()
        # searches and clicks are queued and written in batches off the request path (see querylog)
        self.query_log = QueryLogWriter(self._write_query_log)
        self._meta_secrets: dict[str, str] = {}  # meta_secret values never change once written
        if create:
            self.create_tables()

    # ------------------------------------------------------------------ lifecycle
    def create_tables(self) -> None:
        """Create missing tables and indexes (idempotent; safe when several processes start at once)."""
        attempts = 5
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    metadata.create_all(conn, checkfirst=True)
                    stmt = self._insert(meta_t).values(key="schema_version", value=str(SCHEMA_VERSION))
                    conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
                return
            except sa.exc.SQLAlchemyError as exc:
                # Another process may have created a table between our check and our CREATE, or hold
                # the new SQLite file's lock for a moment: look again.
                text = str(exc)
                racing = (
                    "already exists" in text or "locked" in text or isinstance(exc, sa.exc.IntegrityError)
                )
                if not racing or attempt == attempts - 1:
                    raise StoreError(f"cannot create tables: {exc}", value=self.url) from exc
                time.sleep(0.05 * (attempt + 1))

    def close(self) -> None:
        self.query_log.close()  # writes the queued search/click rows first
        self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"SqlStore({sa.engine.make_url(normalise_url(self.url)).render_as_string(hide_password=True)!r})"
        )

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT supporting ``on_conflict_do_nothing/update``."""
        return pg.insert(table) if self.dialect_name == "postgresql" else sqlite_dialect.insert(table)

    def _begin(self) -> Any:
        return self.engine.begin()

    # ------------------------------------------------------------------ generic upsert
    def _upsert(
        self,
        table: sa.Table,
        rows: list[dict[str, Any]],
        key: tuple[str, ...],
        conn: Connection | None = None,
        written: list[dict[str, Any]] | None = None,
    ) -> WriteResult:
        """Insert new rows, update changed ones, skip identical ones; one transaction.

        ``written`` (optional) receives the rows that were inserted or changed.
        """
        if not rows:
            return WriteResult()
        rows, repeated = _dedupe_last(rows, key)
        if conn is None:
            with self._begin() as c:
                res = self._upsert(table, rows, key, c, written)
        else:
            existing = self._fetch_by_keys(conn, table, key, [tuple(r[k] for k in key) for r in rows])
            new = [r for r in rows if tuple(r[k] for k in key) not in existing]
            changed = [
                r
                for r in rows
                if (old := existing.get(tuple(r[k] for k in key))) is not None and not _same_row(old, r)
            ]
            if new or changed:
                # An upsert for new rows too: a concurrent writer may have inserted one meanwhile.
                stmt = self._insert(table)
                update_cols = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
                stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=update_cols)
                conn.execute(stmt, new + changed)
                if written is not None:
                    written.extend(new + changed)
            res = WriteResult(
                inserted=len(new), updated=len(changed), duplicates=len(rows) - len(new) - len(changed)
            )
        res.duplicates += repeated
        return res

    def _fetch_by_keys(
        self, conn: Connection, table: sa.Table, key: tuple[str, ...], keys: list[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        out: dict[tuple[Any, ...], dict[str, Any]] = {}
        if len(key) == 1:
            col = table.c[key[0]]
            for part in _chunks([k[0] for k in keys], _IN_CHUNK):
                for row in conn.execute(sa.select(table).where(col.in_(list(part)))).mappings():
                    out[(row[key[0]],)] = dict(row)
        else:
            # Composite keys (sales: item_id, date): select by the leading column, which the primary
            # key index serves, and keep the wanted combinations — an OR of ANDs would scan the table.
            wanted = set(keys)
            col = table.c[key[0]]
            for part in _chunks(list(dict.fromkeys(k[0] for k in keys)), _IN_CHUNK):
                for row in conn.execute(sa.select(table).where(col.in_(list(part)))).mappings():
                    k = tuple(row[name] for name in key)
                    if k in wanted:
                        out[k] = dict(row)
        return out

    def _existing_ids(self, conn: Connection, column: sa.Column[Any], ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(str(i) for i in ids))
        for part in _chunks(unique, _IN_CHUNK):
            found.update(conn.execute(sa.select(column).where(column.in_(list(part)))).scalars())
        return found

    # ------------------------------------------------------------------ items
    def upsert_items(self, items: Iterable[Item]) -> WriteResult:
        rows = [_item_row(i) for i in items]
        written: list[dict[str, Any]] = []
        with self._begin() as conn:
            res = self._upsert(items_t, rows, ("id",), conn, written)
            self._log_item_changes(conn, [r["id"] for r in written], deleted=False)
        return res

    def delete_items(self, ids: Sequence[str]) -> WriteResult:
        deleted = 0
        with self._begin() as conn:
            gone = self._existing_ids(conn, items_t.c.id, ids)
            for part in _chunks(list(ids), _IN_CHUNK):
                deleted += conn.execute(sa.delete(items_t).where(items_t.c.id.in_(list(part)))).rowcount
            self._log_item_changes(conn, sorted(gone), deleted=True)
        return WriteResult(deleted=deleted)

    def _log_item_changes(self, conn: Connection, ids: Sequence[str], *, deleted: bool) -> None:
        if ids:
            at = now_utc()
            conn.execute(
                item_changes_t.insert(), [{"item_id": str(i), "deleted": deleted, "at": at} for i in ids]
            )

    def item_changes(self, since: int = 0, limit: int = 10_000) -> tuple[int, list[tuple[str, bool]]]:
        """Catalogue changes after sequence number ``since``: ``(last seq, [(item_id, deleted), …])``.

        At most ``limit`` changes, oldest first; with nothing new, ``(since, [])`` from one indexed
        lookup. ``item_changes(0, 0)[0]`` is not the current seq: use :meth:`item_change_seq`.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(item_changes_t.c.seq, item_changes_t.c.item_id, item_changes_t.c.deleted)
                .where(item_changes_t.c.seq > int(since))
                .order_by(item_changes_t.c.seq)
                .limit(int(limit))
            ).all()
        if not rows:
            return int(since), []
        return int(rows[-1][0]), [(str(r[1]), bool(r[2])) for r in rows]

    def item_change_seq(self) -> int:
        """The latest catalogue change's sequence number (0 before any change)."""
        with self.engine.connect() as conn:
            got = conn.execute(sa.select(sa.func.max(item_changes_t.c.seq))).scalar()
        return int(got or 0)

    def get_item(self, item_id: str) -> Item | None:
        found = self.get_items([item_id])
        return found[0] if found else None

    def get_items(self, ids: Sequence[str]) -> list[Item]:
        """Items in the order of ``ids``; unknown ids are left out."""
        with self.engine.connect() as conn:
            rows = self._fetch_by_keys(conn, items_t, ("id",), [(str(i),) for i in ids])
        return [_item_from_row(rows[(str(i),)]) for i in dict.fromkeys(ids) if (str(i),) in rows]

    def items_frame(self) -> pd.DataFrame:
        return self._entity_frame(items_t)

    def item_ids(self) -> set[str]:
        return self._ids(items_t)

    def items_page(
        self, *, after: str | None = None, limit: int = 50, category: str | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` stored item rows in id order, after id ``after`` (keyset pagination).

        One indexed range scan on the primary key: the cost depends on the page, not the catalogue.
        ``category``: only items with this exact level somewhere in their category path.
        ``offset`` skips rows after ``after`` (kept for clients that page by offset; it scans them).
        Rows are returned as stored (``Item`` fields, not re-validated), so one stored row that
        fails today's validation does not break a listing.
        """
        stmt = sa.select(items_t).order_by(items_t.c.id).limit(int(limit)).offset(int(offset))
        if after is not None:
            stmt = stmt.where(items_t.c.id > str(after))
        if category is not None:
            if self.dialect_name == "postgresql":
                # JSONB containment (@>); the column's generic JSON type would compile to LIKE
                stmt = stmt.where(sa.type_coerce(items_t.c.category, pg.JSONB).contains([category]))
            else:
                stmt = stmt.where(
                    sa.text("EXISTS (SELECT 1 FROM json_each(items.category) j WHERE j.value = :category)")
                ).params(category=category)
        with self.engine.connect() as conn:
            # plain str keys: SQLAlchemy's quoted_name keys are a str subclass that orjson refuses
            return [{str(k): v for k, v in row.items()} for row in conn.execute(stmt).mappings()]

    def count_items(self) -> int:
        """Number of items in the catalogue (one ``COUNT``, no rows read into Python)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(items_t)).scalar() or 0)

    def shared_secret(self, name: str) -> str:
        """A random secret shared by every process using this store, created on first use.

        Stored in the meta table (``secret:<name>``); the first writer wins, so concurrent workers
        agree. Used to sign short-lived tokens (customer tokens of the API).
        """
        key = f"secret:{name}"[:64]
        with self._begin() as conn:
            conn.execute(
                self._insert(meta_t)
                .values(key=key, value=secrets.token_urlsafe(32))
                .on_conflict_do_nothing(index_elements=["key"])
            )
            return str(conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == key)).scalar_one())

    def _entity_frame(self, table: sa.Table) -> pd.DataFrame:
        """Every row of an entity table (items, users) in id order, ``created_at`` as UTC datetimes.

        Rows that do not read back (JSON that does not parse; for items, see
        :func:`~shopmind.data.setaside.screen_items`) are left out and named in ``attrs["set_aside"]``.
        """
        kind = table.name.removesuffix("s")
        with self.engine.connect() as conn:
            frame, unreadable = _frame_lenient(conn, sa.select(table).order_by(table.c.id), table, kind)
        frame["created_at"] = _micros_to_datetime(frame["created_at"])
        if table is items_t:
            frame = setaside.split(frame, setaside.screen_items(frame), kind)
        return setaside.attach(frame, unreadable)

    def _ids(self, table: sa.Table) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(table.c.id)).scalars())

    # ------------------------------------------------------------------ users
    def upsert_users(self, users: Iterable[User]) -> WriteResult:
        rows = [
            {"id": u.id, "email": u.email, "attributes": u.attributes, "created_at": u.created_at}
            for u in users
        ]
        return self._upsert(users_t, rows, ("id",))

    def get_user(self, user_id: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users_t).where(users_t.c.id == user_id)).mappings().first()
        return None if row is None else User.model_validate(dict(row))

    def users_frame(self) -> pd.DataFrame:
        return self._entity_frame(users_t)

    def user_ids(self) -> set[str]:
        return self._ids(users_t)

    # ------------------------------------------------------------------ events
    def add_events(self, events: Iterable[Event]) -> WriteResult:
        rows = [e.model_dump() for e in events]
        if not rows:
            return WriteResult()
        frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
        frame["type"] = frame["type"].map(str)
        return self.add_events_frame(frame)

    def add_events_frame(self, frame: pd.DataFrame) -> WriteResult:
        """Insert a validated events frame in one transaction; ids already stored count as duplicates.

        Columns: ``id, user_id, type, timestamp`` required; ``item_id, value, quantity, query,
        session_id`` optional. ``timestamp`` may be datetimes (naive = UTC) or epoch seconds.
        """
        n = len(frame)
        if n == 0:
            return WriteResult()
        columns = _event_columns(frame)
        inserted = 0
        try:
            with self._begin() as conn:
                if self.dialect_name == "postgresql":
                    inserted = self._copy_events_pg(conn, columns, n)
                else:
                    inserted = self._executemany_events(conn, columns, n)
        except sa.exc.IntegrityError as exc:
            raise DataError(f"events rejected by the database: {exc.orig}") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"event batch of {n} rows not stored (rolled back): {exc}") from exc
        return WriteResult(inserted=inserted, duplicates=n - inserted)

    def _executemany_events(self, conn: Connection, columns: list[list[Any]], n: int) -> int:
        sql = (
            f"INSERT INTO events ({', '.join(_q(c) for c in EVENT_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)}) ON CONFLICT (id) DO NOTHING"
        )
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        inserted = 0
        try:
            for start in range(0, n, _EVENT_BULK_ROWS):
                part = zip(*(col[start : start + _EVENT_BULK_ROWS] for col in columns), strict=True)
                cursor.executemany(sql, part)
                inserted += max(cursor.rowcount, 0)  # sqlite3 sums rowcount over executemany
        finally:
            cursor.close()
        return inserted

    def _copy_events_pg(self, conn: Connection, columns: list[list[Any]], n: int) -> int:
        raw = conn.connection.driver_connection
        assert raw is not None
        cols = ", ".join(_q(c) for c in EVENT_COLUMNS)
        with raw.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _events_in (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            cur.execute("TRUNCATE _events_in")
            with cur.copy(f"COPY _events_in ({cols}) FROM STDIN") as copy:
                for start in range(0, n, _EVENT_BULK_ROWS):
                    for row in zip(*(col[start : start + _EVENT_BULK_ROWS] for col in columns), strict=True):
                        copy.write_row(row)
            cur.execute(
                f"INSERT INTO events ({cols}) SELECT {cols} FROM _events_in ON CONFLICT (id) DO NOTHING"
            )
            inserted = cur.rowcount
            cur.execute("TRUNCATE _events_in")
        return max(inserted, 0)

    def events_frame(
        self,
        *,
        user_id: str | None = None,
        types: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> pd.DataFrame:
        """Events in time order (ties by id); ``since`` inclusive, ``until`` exclusive."""
        raw_ts = sa.type_coerce(events_t.c.timestamp, sa.BigInteger).label("timestamp")
        cols = [events_t.c[c] for c in EVENT_COLUMNS if c != "timestamp"] + [raw_ts]
        stmt = sa.select(*cols)
        if user_id is not None:
            stmt = stmt.where(events_t.c.user_id == user_id)
        if types is not None:
            stmt = stmt.where(events_t.c.type.in_([str(t) for t in types]))
        if since is not None:
            stmt = stmt.where(events_t.c.timestamp >= since)
        if until is not None:
            stmt = stmt.where(events_t.c.timestamp < until)
        stmt = stmt.order_by(events_t.c.timestamp, events_t.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        frame = pd.DataFrame(rows, columns=[c for c in EVENT_COLUMNS if c != "timestamp"] + ["timestamp"])
        frame = setaside.split(frame, setaside.screen_events(frame, EVENT_TYPES), "event")
        frame["value"] = frame["value"].astype("float64")
        frame["quantity"] = frame["quantity"].astype("int64")
        frame["timestamp"] = _micros_to_datetime(frame["timestamp"])
        return frame[list(EVENT_COLUMNS)]

    def existing_event_ids(self, ids: Sequence[str]) -> set[str]:
        with self.engine.connect() as conn:
            return self._existing_ids(conn, events_t.c.id, ids)

    def load_dataset(self, weights: EventWeights | None = None) -> Dataset:
        """Catalogue items (even untouched ones), users, and every event that names an item.

        Stored rows that cannot be used are left out and listed in the Dataset's ``set_aside``
        (:mod:`shopmind.data.setaside`), with the items and users the catalogue readers set aside.
        """
        ts = sa.type_coerce(events_t.c.timestamp, sa.BigInteger)
        columns = ["user_id", "item_id", "type", "value", "timestamp"]
        stmt = sa.select(*[events_t.c[c] for c in columns[:-1]], ts).where(events_t.c.item_id.is_not(None))
        if self.dialect_name != "sqlite":
            # SQLite returns rowid (insertion) order without a sort; elsewhere ask for a stable order.
            stmt = stmt.order_by(ts, events_t.c.id)
        with self.engine.connect() as conn:
            events = pd.DataFrame(conn.execute(stmt).all(), columns=columns)
            reasons = setaside.screen_events(events, EVENT_TYPES)
            if reasons.notna().any():  # rare: read again with the ids, to name what is set aside
                events = pd.DataFrame(
                    conn.execute(stmt.add_columns(events_t.c.id)).all(), columns=[*columns, "id"]
                )
                events = setaside.split(events, setaside.screen_events(events, EVENT_TYPES), "event")
        events["value"] = events["value"].astype("float64")
        events["timestamp"] = (events["timestamp"].astype("int64") // 1_000_000).astype("int64")
        events = events.sort_values("timestamp", kind="stable", ignore_index=True)
        items, users = self.items_frame(), self.users_frame()
        dataset = Dataset.from_frame(events, items=items, users=users, weights=weights)
        dataset.set_aside = setaside.of(items) + setaside.of(users) + setaside.of(events)
        return dataset

    # ------------------------------------------------------------------ orders
    def upsert_orders(self, orders: Iterable[Order]) -> WriteResult:
        rows = [_order_row(o) for o in orders]
        return self._upsert(orders_t, rows, ("id",))

    def get_order(self, order_id: str) -> Order | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(orders_t).where(orders_t.c.id == order_id)).mappings().first()
        return None if row is None else Order.model_validate(dict(row))

    def orders_for_user(self, user_id: str) -> list[Order]:
        stmt = (
            sa.select(orders_t)
            .where(orders_t.c.user_id == user_id)
            .order_by(orders_t.c.created_at.desc(), orders_t.c.id)
        )
        with self.engine.connect() as conn:
            return [Order.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

    def set_order_status(self, order_id: str, status: OrderStatus, *, user_id: str) -> Order:
        """Update in SQL with ``WHERE id = :order AND user_id = :user``; nothing changes for others.

        Raises :class:`PermissionDenied` when the order belongs to someone else and
        :class:`UnknownIdError` when no such order exists.
        """
        status = OrderStatus(status)
        now = now_utc()
        values: dict[str, Any] = {"status": status.value, "updated_at": now}
        if status is OrderStatus.SHIPPED:
            values["shipped_at"] = sa.func.coalesce(orders_t.c.shipped_at, to_micros(now))
        if status is OrderStatus.DELIVERED:
            values["delivered_at"] = sa.func.coalesce(orders_t.c.delivered_at, to_micros(now))
        with self._begin() as conn:
            changed = conn.execute(
                sa.update(orders_t)
                .where(orders_t.c.id == order_id, orders_t.c.user_id == user_id)
                .values(**values)
            ).rowcount
            if changed == 0:
                exists = conn.execute(sa.select(orders_t.c.id).where(orders_t.c.id == order_id)).first()
                if exists is None:
                    raise UnknownIdError("unknown order", value=order_id, expected="an existing order id")
                raise PermissionDenied(
                    "order belongs to another customer", value=order_id, expected=f"an order of {user_id!r}"
                )
            row = conn.execute(sa.select(orders_t).where(orders_t.c.id == order_id)).mappings().one()
        return Order.model_validate(dict(row))

    def orders_frame(self) -> pd.DataFrame:
        stmt = sa.select(
            orders_t.c.id,
            orders_t.c.user_id,
            orders_t.c.lines,
            orders_t.c.status,
            sa.type_coerce(orders_t.c.created_at, sa.BigInteger),
        ).order_by(orders_t.c.created_at, orders_t.c.id)
        records: list[tuple[Any, ...]] = []
        unreadable: list[dict[str, Any]] = []  # orders whose lines or time do not read back: set aside
        with self.engine.connect() as conn:
            for oid, uid, lines, status, created in _rows_lenient(conn, stmt, orders_t, "order", unreadable):
                try:
                    if isinstance(created, bool) or not isinstance(created, int):
                        raise ValueError("created_at is not a stored time")
                    parsed = setaside.order_lines(lines)
                except ValueError as exc:
                    unreadable.append(setaside.record("order", oid, str(exc)))
                    continue
                records.extend((oid, uid, item, qty, price, status, created) for item, qty, price in parsed)
        frame = pd.DataFrame(
            records,
            columns=["order_id", "user_id", "item_id", "quantity", "unit_price", "status", "created_at"],
        )
        frame["quantity"] = frame["quantity"].astype("int64")
        frame["unit_price"] = frame["unit_price"].astype("float64")
        frame["created_at"] = _micros_to_datetime(frame["created_at"])
        return setaside.attach(frame, unreadable)

    # ------------------------------------------------------------------ documents
    def upsert_documents(self, docs: Iterable[Document]) -> WriteResult:
        return self._upsert(documents_t, [d.model_dump() for d in docs], ("id",))

    def documents(self, language: str | None = None) -> list[Document]:
        stmt = sa.select(documents_t).order_by(documents_t.c.id)
        if language is not None:
            stmt = stmt.where(documents_t.c.language == language)
        with self.engine.connect() as conn:
            return [Document.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

    # ------------------------------------------------------------------ sales
    def add_sales(self, points: Iterable[SalesPoint]) -> WriteResult:
        rows = [p.model_dump() for p in points]
        return self._upsert(sales_t, rows, ("item_id", "date"))

    def add_sales_frame(self, frame: pd.DataFrame) -> WriteResult:
        """Bulk upsert of validated sales rows (``item_id, date, units, [price], [promo]``), one transaction.

        The same counts as :meth:`add_sales`: new rows ``inserted``, changed rows ``updated``, identical
        rows ``duplicates``. A key given twice keeps its last row. Not part of the ``Store`` protocol:
        ingest uses it when present (large sales histories), else :meth:`add_sales`.
        """
        if len(frame) == 0:
            return WriteResult()
        missing = {"item_id", "date", "units"} - set(frame.columns)
        if missing:
            raise DataError(
                "sales frame lacks columns", value=sorted(missing), expected="item_id, date, units"
            )
        dates = pd.to_datetime(frame["date"]).dt.date
        df = pd.DataFrame(
            {
                "item_id": frame["item_id"].astype(str).to_numpy(dtype=object),
                "date": dates.to_numpy(dtype=object),
                "units": frame["units"].astype("float64").to_numpy(),
                "price": frame["price"].astype("float64").to_numpy() if "price" in frame else np.nan,
                "promo": frame["promo"].astype(bool).to_numpy() if "promo" in frame else False,
            }
        )
        n_given = len(df)
        df = df.drop_duplicates(["item_id", "date"], keep="last")
        repeated = n_given - len(df)
        price = [None if np.isnan(p) else float(p) for p in df["price"].tolist()]
        is_sqlite = self.dialect_name == "sqlite"
        day = [d.isoformat() for d in df["date"]] if is_sqlite else df["date"].tolist()
        promo = [int(b) for b in df["promo"].tolist()] if is_sqlite else df["promo"].tolist()
        rows = list(zip(df["item_id"].tolist(), day, df["units"].tolist(), price, promo, strict=True))
        changed_where = " OR ".join(
            f"sales.{c} IS {'NOT' if is_sqlite else 'DISTINCT FROM'} excluded.{c}"
            for c in ("units", "price", "promo")
        )
        upsert_tail = (
            "ON CONFLICT (item_id, date) DO UPDATE SET units = excluded.units, price = excluded.price, "
            f"promo = excluded.promo WHERE {changed_where}"
        )
        try:
            with self._begin() as conn:
                existing = 0
                for part in _chunks(list(dict.fromkeys(df["item_id"].tolist())), _IN_CHUNK):
                    keys = conn.execute(
                        sa.select(sales_t.c.item_id, sales_t.c.date).where(sales_t.c.item_id.in_(list(part)))
                    ).all()
                    existing += len(set(keys) & set(zip(df["item_id"], df["date"], strict=True)))
                raw = conn.connection.driver_connection
                assert raw is not None
                if is_sqlite:
                    cur = raw.cursor()
                    try:
                        cur.executemany(
                            f"INSERT INTO sales (item_id, date, units, price, promo) VALUES (?, ?, ?, ?, ?) {upsert_tail}",
                            rows,
                        )
                        written = max(cur.rowcount, 0)
                    finally:
                        cur.close()
                else:
                    with raw.cursor() as cur:
                        cur.execute(
                            "CREATE TEMP TABLE IF NOT EXISTS _sales_in (LIKE sales) ON COMMIT DELETE ROWS"
                        )
                        with cur.copy(
                            "COPY _sales_in (item_id, date, units, price, promo) FROM STDIN"
                        ) as copy:
                            for row in rows:
                                copy.write_row(row)
                        cur.execute(
                            "INSERT INTO sales (item_id, date, units, price, promo) "
                            f"SELECT item_id, date, units, price, promo FROM _sales_in {upsert_tail}"
                        )
                        written = max(cur.rowcount, 0)
                        cur.execute("TRUNCATE _sales_in")
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"sales batch of {n_given} rows not stored (rolled back): {exc}") from exc
        inserted = len(df) - existing
        updated = written - inserted
        return WriteResult(inserted=inserted, updated=updated, duplicates=existing - updated + repeated)

    def sales_frame(self, item_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Columns item_id, date (datetime64, midnight), units, price, promo; sorted by item, date.

        Rows that do not read back as a sale are left out and named in ``attrs["set_aside"]``.
        """
        # the date is parsed below, vectorised, so that one unparseable stored date fails only its row
        raw_date = sa.type_coerce(sales_t.c.date, sa.String).label("date")
        stmt = sa.select(*[raw_date if c.name == "date" else c for c in sales_t.columns]).order_by(
            sales_t.c.item_id, sales_t.c.date
        )
        chunks: list[list[Any]] = []
        with self.engine.connect() as conn:
            if item_ids is None:
                chunks.append(list(conn.execute(stmt).all()))
            else:
                for part in _chunks(list(dict.fromkeys(item_ids)), _IN_CHUNK):
                    chunks.append(list(conn.execute(stmt.where(sales_t.c.item_id.in_(list(part)))).all()))
        rows = [r for c in chunks for r in c]
        frame = pd.DataFrame(rows, columns=["item_id", "date", "units", "price", "promo"])
        frame = setaside.split(frame, setaside.screen_sales(frame), "sale", ("item_id", "date"))
        frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")
        frame["units"] = frame["units"].astype("float64")
        frame["price"] = frame["price"].astype("float64")
        frame["promo"] = frame["promo"].astype(bool)
        return frame.sort_values(["item_id", "date"], kind="stable").reset_index(drop=True)

    # ------------------------------------------------------------------ reviews
    def upsert_reviews(self, reviews: Iterable[Review]) -> WriteResult:
        return self._upsert(reviews_t, [r.model_dump() for r in reviews], ("id",))

    def reviews_frame(self, item_id: str | None = None) -> pd.DataFrame:
        stmt = sa.select(reviews_t).order_by(reviews_t.c.created_at, reviews_t.c.id)
        if item_id is not None:
            stmt = stmt.where(reviews_t.c.item_id == item_id)
        raw = stmt.with_only_columns(
            *[
                sa.type_coerce(c, sa.BigInteger).label(c.name) if c.name == "created_at" else c
                for c in reviews_t.columns
            ]
        )
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(raw).all(), columns=[c.name for c in reviews_t.columns])
        frame["rating"] = frame["rating"].astype("int64")
        frame["created_at"] = _micros_to_datetime(frame["created_at"])
        return frame

    # ------------------------------------------------------------------ search log
    def log_search(
        self,
        *,
        query: str,
        user_id: str | None,
        n_results: int,
        result_ids: Sequence[str],
        at: datetime | None = None,
    ) -> str:
        """Queued, not written: see :mod:`shopmind.store.querylog` (reads of the log flush first)."""
        search_id = uuid.uuid4().hex
        self.query_log.add(
            "search",
            {
                "search_id": search_id,
                "query": query,
                "user_id": user_id,
                "n_results": int(n_results),
                "result_ids": [str(r) for r in result_ids],
                "at": at or now_utc(),
            },
        )
        return search_id

    def log_click(self, *, search_id: str, item_id: str, position: int, at: datetime | None = None) -> None:
        """Queued like :meth:`log_search`."""
        if position < 1:
            raise DataError("click position is 1-based", value=position, expected="an integer >= 1")
        self.query_log.add(
            "click",
            {"search_id": search_id, "item_id": item_id, "position": int(position), "at": at or now_utc()},
        )

    def _write_query_log(self, searches: list[dict[str, Any]], clicks: list[dict[str, Any]]) -> None:
        """One transaction for a batch of the query log writer.

        Query texts are PII-redacted here, in the writer thread (off the search's path): shoppers
        type e-mails, phone numbers and addresses into search boxes, and the log feeds analytics.
        """
        with self._begin() as conn:
            if searches:
                conn.execute(search_log_t.insert(), [r | {"query": redact_pii(r["query"])} for r in searches])
            if clicks:
                conn.execute(click_log_t.insert(), clicks)

    def search_log_frame(self) -> pd.DataFrame:
        self.query_log.flush()
        cols = ["search_id", "query", "user_id", "n_results", "result_ids", "at"]
        stmt = sa.select(*[search_log_t.c[c] for c in cols]).order_by(
            search_log_t.c.at, search_log_t.c.search_id
        )
        with self.engine.connect() as conn:
            frame = _frame_raw(conn, stmt, cols, time_cols=("at",))
        frame["n_results"] = frame["n_results"].astype("int64")
        return frame

    def click_log_frame(self) -> pd.DataFrame:
        self.query_log.flush()
        cols = ["search_id", "item_id", "position", "at"]
        stmt = sa.select(*[click_log_t.c[c] for c in cols]).order_by(click_log_t.c.seq)
        with self.engine.connect() as conn:
            frame = _frame_raw(conn, stmt, cols, time_cols=("at",))
        frame["position"] = frame["position"].astype("int64")
        return frame

    # ------------------------------------------------------------------ assistant
    def append_message(
        self,
        conversation_id: str,
        *,
        user_id: str | None,
        role: str,
        text: str,
        meta: dict[str, Any] | None = None,
    ) -> None:
        with self._begin() as conn:
            conn.execute(
                messages_t.insert().values(
                    conversation_id=conversation_id,
                    user_id=user_id,
                    role=role,
                    text=redact_pii(text),  # transcripts never keep e-mails, phones, cards, addresses
                    meta=dict(meta or {}),
                    at=now_utc(),
                )
            )

    def conversation(self, conversation_id: str) -> list[dict[str, Any]]:
        """Messages in the order they were appended: dicts with role, text, user_id, meta, at."""
        stmt = (
            sa.select(
                messages_t.c.role, messages_t.c.text, messages_t.c.user_id, messages_t.c.meta, messages_t.c.at
            )
            .where(messages_t.c.conversation_id == conversation_id)
            .order_by(messages_t.c.seq)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def create_ticket(self, ticket: Ticket) -> Ticket:
        created = ticket.created_at or now_utc()
        stored = Ticket(
            id=ticket.id,
            conversation_id=ticket.conversation_id,
            user_id=ticket.user_id,
            reason=ticket.reason,
            transcript=list(ticket.transcript),
            status=ticket.status,
            created_at=created,
        )
        try:
            with self._begin() as conn:
                conn.execute(
                    tickets_t.insert().values(
                        id=stored.id,
                        conversation_id=stored.conversation_id,
                        user_id=stored.user_id,
                        reason=redact_pii(stored.reason),
                        transcript=_redacted_transcript(stored.transcript),
                        status=stored.status,
                        created_at=created,
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise StoreError("ticket id already exists", value=ticket.id, expected="a new ticket id") from exc
        return stored

    def tickets(self, status: str | None = None) -> list[Ticket]:
        stmt = sa.select(tickets_t).order_by(tickets_t.c.created_at, tickets_t.c.id)
        if status is not None:
            stmt = stmt.where(tickets_t.c.status == status)
        with self.engine.connect() as conn:
            return [Ticket(**dict(r)) for r in conn.execute(stmt).mappings()]

    # ------------------------------------------------------------------ API keys
    def add_api_key(self, record: ApiKeyRecord) -> None:
        try:
            with self._begin() as conn:
                conn.execute(
                    api_keys_t.insert().values(
                        id=record.id,
                        name=record.name,
                        scopes=list(record.scopes),
                        key_hash=record.key_hash,
                        prefix=record.prefix,
                        user_id=record.user_id,
                        created_at=record.created_at or now_utc(),
                        revoked_at=record.revoked_at,
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise StoreError("API key id already exists", value=record.id, expected="a new key id") from exc

    def api_keys(self, include_revoked: bool = False) -> list[ApiKeyRecord]:
        stmt = sa.select(api_keys_t).order_by(api_keys_t.c.created_at, api_keys_t.c.id)
        if not include_revoked:
            stmt = stmt.where(api_keys_t.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [_key_from_row(r) for r in conn.execute(stmt).mappings()]

    def api_key_by_prefix(self, prefix: str) -> list[ApiKeyRecord]:
        """Active (not revoked) keys with this prefix; revoked keys are never candidates for auth."""
        stmt = sa.select(api_keys_t).where(api_keys_t.c.prefix == prefix, api_keys_t.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [_key_from_row(r) for r in conn.execute(stmt).mappings()]

    def revoke_api_key(self, key_id: str) -> bool:
        """True when an active key was revoked now; False if unknown or already revoked."""
        with self._begin() as conn:
            return (
                conn.execute(
                    sa.update(api_keys_t)
                    .where(api_keys_t.c.id == key_id, api_keys_t.c.revoked_at.is_(None))
                    .values(revoked_at=now_utc())
                ).rowcount
                > 0
            )

    # ------------------------------------------------------------------ identity checks
    def log_identity_check(self, check: IdentityCheck) -> None:
        with self._begin() as conn:
            conn.execute(
                identity_checks_t.insert().values(
                    at=check.at or now_utc(),
                    outcome=check.outcome[:16],
                    order_id=None if check.order_id is None else check.order_id[:128],
                    key_id=check.key_id,
                    client_ip=None if check.client_ip is None else check.client_ip[:64],
                    conversation_id=check.conversation_id,
                    reason=check.reason[:32],
                )
            )

    def identity_failure_times(
        self,
        *,
        since: datetime,
        limit: int,
        order_id: str | None = None,
        key_id: str | None = None,
        client_ip: str | None = None,
    ) -> dict[str, list[datetime]]:
        subjects = {"order_id": order_id, "key_id": key_id, "client_ip": client_ip}
        out: dict[str, list[datetime]] = {}
        with self.engine.connect() as conn:
            for column, value in subjects.items():
                if value is None:
                    continue
                # served by the (subject, outcome, at) index: a range scan of at most `limit` rows
                stmt = (
                    sa.select(identity_checks_t.c.at)
                    .where(
                        identity_checks_t.c[column] == value,
                        identity_checks_t.c.outcome == "failed",
                        identity_checks_t.c.at >= since,
                    )
                    .order_by(identity_checks_t.c.at.desc())
                    .limit(max(int(limit), 0))
                )
                out[column] = [r[0] for r in conn.execute(stmt)]
        return out

    def identity_checks(self, *, since: datetime | None = None, limit: int = 1000) -> list[IdentityCheck]:
        stmt = sa.select(identity_checks_t).order_by(identity_checks_t.c.seq).limit(max(int(limit), 0))
        if since is not None:
            stmt = stmt.where(identity_checks_t.c.at >= since)
        with self.engine.connect() as conn:
            return [
                IdentityCheck(**{k: v for k, v in r.items() if k != "seq"})
                for r in conn.execute(stmt).mappings()
            ]

    def prune_identity_checks(self, before: datetime) -> int:
        with self._begin() as conn:
            return int(
                conn.execute(sa.delete(identity_checks_t).where(identity_checks_t.c.at < before)).rowcount
            )

    # ------------------------------------------------------------------ training runs
    _TRAINING_FIELDS = frozenset(
        {"state", "components", "owner", "heartbeat_at", "finished_at", "seconds", "error", "progress"}
    )

    def add_training_run(self, record: TrainingRunRecord) -> None:
        with self._begin() as conn:
            conn.execute(
                sa.insert(training_runs_t).values(
                    id=record.id,
                    state=record.state,
                    components=record.components,
                    owner=dict(record.owner),
                    started_at=record.started_at,
                    heartbeat_at=record.heartbeat_at,
                    finished_at=record.finished_at,
                    seconds=record.seconds,
                    error=record.error,
                    progress=list(record.progress),
                )
            )

    def update_training_run(self, run_id: str, **fields: Any) -> bool:
        unknown = set(fields) - self._TRAINING_FIELDS
        if unknown:
            raise DataError(
                "unknown training record fields",
                value=sorted(unknown),
                expected=str(sorted(self._TRAINING_FIELDS)),
            )
        if not fields:
            return False
        with self._begin() as conn:
            done = conn.execute(
                sa.update(training_runs_t).where(training_runs_t.c.id == run_id).values(**fields)
            ).rowcount
        return bool(done)

    def training_runs(self, *, state: str | None = None, limit: int = 20) -> list[TrainingRunRecord]:
        stmt = sa.select(training_runs_t).order_by(
            training_runs_t.c.started_at.desc(), training_runs_t.c.id.desc()
        )
        if state is not None:
            stmt = stmt.where(training_runs_t.c.state == state)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.limit(max(1, int(limit)))).mappings().all()
        return [
            TrainingRunRecord(
                id=r["id"],
                state=r["state"],
                started_at=r["started_at"],
                heartbeat_at=r["heartbeat_at"],
                components=r["components"],
                owner=dict(r["owner"] or {}),
                finished_at=r["finished_at"],
                seconds=r["seconds"],
                error=r["error"],
                progress=list(r["progress"] or []),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ privacy
    def meta_secret(self, key: str) -> str:
        """A random secret stored under ``key`` in ``shopmind_meta``, created on first use (race-safe).

        Cached in memory after the first read: the first writer wins and the value never changes.
        """
        cached = self._meta_secrets.get(key)
        if cached is not None:
            return cached
        with self._begin() as conn:
            stmt = self._insert(meta_t).values(key=key, value=secrets.token_hex(32))
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
            value = str(conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == key)).scalar_one())
        self._meta_secrets[key] = value
        return value

    def erase_user(self, user_id: str) -> dict[str, int]:
        """Delete what the store holds about one customer, in one transaction; row counts per kind.

        Deleted: the user row, their events, reviews, searches (and clicks on them), API keys bound
        to them, their conversations — signed-in ones, and anonymous ones whose state names one of
        their orders — and the hand-off tickets of those conversations. Their orders are kept,
        anonymised (``orders_anonymised``): ``user_id`` becomes a fresh random placeholder per order
        (:func:`~shopmind.privacy.erased_user_id`), carrier and tracking number are cleared. Why keep them: the order lines (item, quantity, price, date)
        are the shop's sales record, which forecasting and "bought together" aggregate; without the
        customer link and the tracking number (which leads to a delivery address) they no longer
        relate to a person. The order id stays, so re-importing the shop's order export would
        re-link them: erase the customer in the shop system too.

        The anonymous order look-ups of their orders (``identity_checks`` rows naming those order
        ids: client IP, key, conversation) are deleted too; the rest of that audit log is kept. When
        anything was deleted, the erasure is recorded in ``erased_customers`` under the audit's salted
        hash, so customer tokens issued before it are refused (:meth:`customer_erased_at`).
        """
        self.query_log.flush()  # queued searches of this customer are written, then deleted
        digest = subject_hash(self, user_id)  # before the transaction: may create the salt (a write)
        with self._begin() as conn:
            order_ids = list(
                conn.execute(sa.select(orders_t.c.id).where(orders_t.c.user_id == user_id)).scalars()
            )
            conversations = set(
                conn.execute(
                    sa.select(messages_t.c.conversation_id).where(messages_t.c.user_id == user_id).distinct()
                ).scalars()
            )
            conversations |= self._anonymous_conversations_naming(conn, order_ids)
            searches = list(
                conn.execute(
                    sa.select(search_log_t.c.search_id).where(search_log_t.c.user_id == user_id)
                ).scalars()
            )
            counts = {"users": 0, "events": 0, "reviews": 0, "searches": len(searches), "clicks": 0}
            for part in _chunks(searches, _IN_CHUNK):
                counts["clicks"] += conn.execute(
                    sa.delete(click_log_t).where(click_log_t.c.search_id.in_(list(part)))
                ).rowcount
            counts["searches"] = conn.execute(
                sa.delete(search_log_t).where(search_log_t.c.user_id == user_id)
            ).rowcount
            counts["messages"] = counts["tickets"] = 0
            for part in _chunks(sorted(conversations), _IN_CHUNK):
                counts["messages"] += conn.execute(
                    sa.delete(messages_t).where(messages_t.c.conversation_id.in_(list(part)))
                ).rowcount
                counts["tickets"] += conn.execute(
                    sa.delete(tickets_t).where(tickets_t.c.conversation_id.in_(list(part)))
                ).rowcount
            counts["conversations"] = len(conversations)
            counts["tickets"] += conn.execute(
                sa.delete(tickets_t).where(tickets_t.c.user_id == user_id)
            ).rowcount
            counts["orders_anonymised"] = 0
            if order_ids:
                now = now_utc()
                anonymise = (
                    sa.update(orders_t)
                    .where(orders_t.c.id == sa.bindparam("oid"), orders_t.c.user_id == user_id)
                    .values(
                        user_id=sa.bindparam("placeholder"),
                        carrier=None,
                        tracking_number=None,
                        updated_at=now,
                    )
                )
                params = [{"oid": oid, "placeholder": erased_user_id()} for oid in order_ids]
                counts["orders_anonymised"] = conn.execute(anonymise, params).rowcount
            counts["events"] = conn.execute(sa.delete(events_t).where(events_t.c.user_id == user_id)).rowcount
            counts["reviews"] = conn.execute(
                sa.delete(reviews_t).where(reviews_t.c.user_id == user_id)
            ).rowcount
            counts["api_keys"] = conn.execute(
                sa.delete(api_keys_t).where(api_keys_t.c.user_id == user_id)
            ).rowcount
            counts["users"] = conn.execute(sa.delete(users_t).where(users_t.c.id == user_id)).rowcount
            counts["identity_checks"] = 0
            for part in _chunks(order_ids, _IN_CHUNK):
                counts["identity_checks"] += conn.execute(
                    sa.delete(identity_checks_t).where(identity_checks_t.c.order_id.in_(list(part)))
                ).rowcount
            if any(counts.values()):
                upsert = self._insert(erased_customers_t).values(subject_hash=digest, at=now_utc())
                conn.execute(
                    upsert.on_conflict_do_update(
                        index_elements=["subject_hash"], set_={"at": upsert.excluded.at}
                    )
                )
        return {k: int(v) for k, v in counts.items()}

    def customer_erased_at(self, user_id: str) -> datetime | None:
        """When ``user_id`` was last erased (:meth:`erase_user`), or None; one primary-key lookup."""
        digest = subject_hash(self, user_id)
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(erased_customers_t.c.at).where(erased_customers_t.c.subject_hash == digest)
            ).scalar_one_or_none()

    def _anonymous_conversations_naming(self, conn: Connection, order_ids: Sequence[str]) -> set[str]:
        """Anonymous conversations whose stored assistant state mentions one of ``order_ids``.

        An anonymous customer proves an order by e-mail; the dialogue keeps the order id in the
        assistant message's ``meta.state`` (``order_id``, ``verified_orders``). The JSON is searched as
        text for the quoted id — as each backend renders it (SQLite stores ``json.dumps`` with ASCII
        escapes, PostgreSQL's ``jsonb::text`` keeps UTF-8).
        """
        found: set[str] = set()
        meta_text = sa.cast(messages_t.c.meta, sa.Text)
        ascii_only = self.dialect_name == "sqlite"
        for part in _chunks(list(order_ids), 50):
            likes = []
            for oid in part:
                needle = json.dumps(str(oid), ensure_ascii=ascii_only)
                escaped = needle.replace("!", "!!").replace("%", "!%").replace("_", "!_")
                likes.append(meta_text.like(f"%{escaped}%", escape="!"))
            stmt = (
                sa.select(messages_t.c.conversation_id)
                .where(messages_t.c.user_id.is_(None), messages_t.c.role == "assistant", sa.or_(*likes))
                .distinct()
            )
            found.update(conn.execute(stmt).scalars())
        return found

    def purge_before(
        self, *, events_before: datetime | None = None, conversations_before: datetime | None = None
    ) -> dict[str, int]:
        """Retention: delete behaviour and conversations older than the cut-offs; row counts per kind.

        ``events_before``: events, searches and clicks with a time before it (and clicks on those
        searches). ``conversations_before``: every message of a conversation whose *last* message is
        older (a conversation is never cut in the middle), and tickets created before it. ``None``
        leaves that kind alone.
        """
        counts: dict[str, int] = {}
        self.query_log.flush()
        with self._begin() as conn:
            if events_before is not None:
                cut = to_micros(events_before)
                old_searches = sa.select(search_log_t.c.search_id).where(search_log_t.c.at < cut)
                counts["events"] = conn.execute(
                    sa.delete(events_t).where(events_t.c.timestamp < cut)
                ).rowcount
                counts["clicks"] = conn.execute(
                    sa.delete(click_log_t).where(
                        sa.or_(click_log_t.c.at < cut, click_log_t.c.search_id.in_(old_searches))
                    )
                ).rowcount
                counts["searches"] = conn.execute(
                    sa.delete(search_log_t).where(search_log_t.c.at < cut)
                ).rowcount
            if conversations_before is not None:
                cut = to_micros(conversations_before)
                stale = (
                    sa.select(messages_t.c.conversation_id)
                    .group_by(messages_t.c.conversation_id)
                    .having(sa.func.max(messages_t.c.at) < cut)
                )
                counts["conversations"] = int(
                    conn.execute(sa.select(sa.func.count()).select_from(stale.subquery())).scalar_one()
                )
                counts["messages"] = conn.execute(
                    sa.delete(messages_t).where(messages_t.c.conversation_id.in_(stale))
                ).rowcount
                counts["tickets"] = conn.execute(
                    sa.delete(tickets_t).where(tickets_t.c.created_at < cut)
                ).rowcount
        return {k: int(v) for k, v in counts.items()}

    def add_privacy_audit(
        self,
        *,
        action: str,
        subject_hash: str | None,
        requested_by: str,
        details: dict[str, Any],
        at: datetime | None = None,
    ) -> int:
        """Append one privacy audit record (no personal data: see :mod:`shopmind.privacy`); its id."""
        with self._begin() as conn:
            res = conn.execute(
                privacy_audit_t.insert().values(
                    at=at or now_utc(),
                    action=action[:16],
                    subject_hash=subject_hash,
                    requested_by=requested_by[:128],
                    details=json.loads(json.dumps(details, default=str)),
                )
            )
            return int(res.inserted_primary_key[0])

    def privacy_audit(self, *, limit: int = 1000) -> list[dict[str, Any]]:
        """The newest ``limit`` privacy audit records, oldest first: id, at, action, subject_hash, requested_by, details."""
        stmt = sa.select(privacy_audit_t).order_by(privacy_audit_t.c.seq.desc()).limit(max(int(limit), 0))
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        for r in rows:
            r["id"] = int(r.pop("seq"))
        return rows[::-1]

    # ------------------------------------------------------------------ housekeeping
    def counts(self) -> dict[str, int]:
        self.query_log.flush()
        with self.engine.connect() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in COUNTED_TABLES
            }


# ---------------------------------------------------------------------------- row conversions
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    try:
        # WAL: readers never block the writer; NORMAL sync is durable across application crashes
        # (only an OS crash can lose the last commits), the usual trade-off for WAL.
        _switch_to_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: bulk inserts into 3 indexes
    finally:
        cur.close()


def _switch_to_wal(cur: Any, attempts: int = 50) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another process holds the new file's lock.

    Switching the journal mode needs an exclusive lock and SQLite does not call the busy handler for
    it, so when several web workers open a fresh database at once one of them can get "database is
    locked" at once, whatever ``busy_timeout`` says (seen under load in the contract suite).
    """
    for attempt in range(attempts):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # sqlite3.OperationalError; the driver module is not imported here
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))


def _q(name: str) -> str:
    return f'"{name}"'


def _item_row(item: Item) -> dict[str, Any]:
    return item.model_dump()


def _item_from_row(row: dict[str, Any]) -> Item:
    return Item.model_validate(row)


def _order_row(order: Order) -> dict[str, Any]:
    row = order.model_dump()
    row["status"] = order.status.value
    row["lines"] = [line.model_dump() for line in order.lines]
    return row


def _redacted_transcript(transcript: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ticket transcript as JSON-ready dicts with PII redacted from each turn's ``text``."""
    out = json.loads(json.dumps(transcript, default=str))
    return [
        {**turn, "text": redact_value(turn["text"])} if isinstance(turn, dict) and "text" in turn else turn
        for turn in out
    ]


def _key_from_row(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"],
        name=row["name"],
        scopes=tuple(row["scopes"]),
        key_hash=row["key_hash"],
        prefix=row["prefix"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _same_row(old: dict[str, Any], new: dict[str, Any]) -> bool:
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, datetime) and isinstance(before, datetime):
            if to_micros(value) != to_micros(before):
                return False
        elif value != before:
            return False
    return True


def _frame(conn: Connection, stmt: Any, table: sa.Table) -> pd.DataFrame:
    """Rows as a frame; time columns come back as raw microseconds for vectorised conversion."""
    cols = [
        sa.type_coerce(c, sa.BigInteger).label(c.name) if isinstance(c.type, UtcMicros) else c
        for c in table.columns
    ]
    rows = conn.execute(stmt.with_only_columns(*cols)).all()
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])


def _frame_lenient(
    conn: Connection, stmt: Any, table: sa.Table, kind: str
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """:func:`_frame`, but a row whose JSON column does not parse is left out and returned as set aside."""
    try:
        return _frame(conn, stmt, table), []
    except ValueError:  # json.JSONDecodeError of one row: decode row by row below
        pass
    unreadable: list[dict[str, Any]] = []
    cols = [
        sa.type_coerce(c, sa.BigInteger).label(c.name) if isinstance(c.type, UtcMicros) else c
        for c in table.columns
    ]
    rows = list(_rows_lenient(conn, stmt.with_only_columns(*cols), table, kind, unreadable))
    return pd.DataFrame(rows, columns=[c.name for c in table.columns]), unreadable


def _rows_lenient(
    conn: Connection, stmt: Any, table: sa.Table, kind: str, unreadable: list[dict[str, Any]]
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``stmt``; JSON columns decoded here, so a row that does not parse is skipped and
    recorded in ``unreadable`` (its first column is taken as its id) instead of failing the read."""
    selected = list(stmt.selected_columns)
    is_json = [
        isinstance(c.type, sa.JSON) or isinstance(getattr(c.type, "impl", None), sa.JSON) for c in selected
    ]
    if not any(is_json) or conn.dialect.name != "sqlite":  # PostgreSQL checks JSON when it is written
        yield from conn.execute(stmt)
        return
    raw = stmt.with_only_columns(
        *[
            sa.type_coerce(c, sa.Text).label(c.name) if j else c
            for c, j in zip(selected, is_json, strict=True)
        ]
    )
    for row in conn.execute(raw):
        try:
            yield tuple(
                (v if not isinstance(v, str) else json.loads(v)) if j else v
                for v, j in zip(row, is_json, strict=True)
            )
        except ValueError as exc:
            unreadable.append(setaside.record(kind, row[0], f"stored JSON does not parse: {exc}"))


def _frame_raw(conn: Connection, stmt: Any, cols: list[str], *, time_cols: tuple[str, ...]) -> pd.DataFrame:
    sel = [
        sa.type_coerce(c, sa.BigInteger).label(c.name) if c.name in time_cols else c
        for c in stmt.selected_columns
    ]
    frame = pd.DataFrame(conn.execute(stmt.with_only_columns(*sel)).all(), columns=cols)
    for c in time_cols:
        frame[c] = _micros_to_datetime(frame[c])
    return frame


def _micros_to_datetime(col: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.to_numeric(col, errors="coerce").astype("Int64"), unit="us", utc=True)


def _event_columns(frame: pd.DataFrame) -> list[list[Any]]:
    """Event columns as Python lists in ``EVENT_COLUMNS`` order, NULLs as None, time in µs."""
    n = len(frame)
    missing = {"id", "user_id", "type", "timestamp"} - set(frame.columns)
    if missing:
        raise DataError("events frame lacks columns", value=sorted(missing), expected=str(EVENT_COLUMNS))
    out: list[list[Any]] = []
    for name in EVENT_COLUMNS:
        if name not in frame.columns:
            out.append([1] * n if name == "quantity" else [None] * n)
            continue
        col = frame[name]
        if name == "timestamp":
            out.append(_timestamps_to_micros(col).tolist())
        elif name == "value":
            values = pd.to_numeric(col, errors="raise").astype("float64").to_numpy()
            out.append([None if np.isnan(v) else v for v in values.tolist()])
        elif name == "quantity":
            out.append(pd.to_numeric(col).fillna(1).astype("int64").tolist())
        else:
            obj = col.astype(object)
            if col.isna().any():
                obj = obj.where(col.notna(), None)
            if name == "type":
                obj = obj.map(lambda t: getattr(t, "value", t))
            out.append(obj.tolist())
    return out


def _timestamps_to_micros(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = col.dt.tz_localize("UTC") if col.dt.tz is None else col.dt.tz_convert("UTC")
        return ts.dt.as_unit("us").astype("int64").to_numpy()
    if pd.api.types.is_numeric_dtype(col):
        return (col.astype("float64").to_numpy() * 1_000_000).round().astype("int64")
    parsed = pd.to_datetime(col, utc=True, errors="coerce", format="mixed")
    if parsed.isna().any():
        raise DataError(
            "unparseable event timestamps",
            value=col[parsed.isna()].head(3).tolist(),
            expected="UTC datetimes",
        )
    return parsed.dt.as_unit("us").astype("int64").to_numpy()


__all__ = ["SqlStore", "from_micros", "normalise_url", "to_micros"]
