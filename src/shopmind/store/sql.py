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

Layout: the tables are defined in :mod:`shopmind.store.tables`, row conversions in
:mod:`shopmind.store.rows`, and the queries in :mod:`shopmind.store.queries`, one mixin per concern
(catalogue, activity, operations, privacy) over :class:`~shopmind.store.queries.base.SqlBase`.
:class:`SqlStore` combines them with the connection, the table creation and the training dataset.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from shopmind.data import setaside
from shopmind.data.dataset import EVENT_TYPES, Dataset, EventWeights
from shopmind.errors import StoreError
from shopmind.store.queries import ActivityQueries, CatalogQueries, OperationsQueries, PrivacyQueries
from shopmind.store.querylog import QueryLogWriter
from shopmind.store.tables import (
    COUNTED_TABLES,
    SCHEMA_VERSION,
    events_t,
    from_micros,
    meta_t,
    metadata,
    to_micros,
)

log = logging.getLogger(__name__)


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3; anything else is passed to SQLAlchemy."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class SqlStore(CatalogQueries, ActivityQueries, OperationsQueries, PrivacyQueries):
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
            self.engine = sa.create_engine(sa_url, **kwargs)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open store: {exc}", value=url) from exc
        if self.dialect_name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._lock = threading.Lock()
        # searches and clicks are queued and written in batches off the request path (see querylog)
        self.query_log = QueryLogWriter(self._write_query_log)
        self._meta_secrets = {}  # meta_secret values never change once written
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

    # ------------------------------------------------------------------ training data
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

    # ------------------------------------------------------------------ housekeeping
    def counts(self) -> dict[str, int]:
        self.query_log.flush()
        with self.engine.connect() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in COUNTED_TABLES
            }


# ---------------------------------------------------------------------------- connection
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


__all__ = ["SqlStore", "from_micros", "normalise_url", "to_micros"]
