"""Activity queries: events, orders, sales, the search and click logs."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shopmind.data import setaside
from shopmind.data.dataset import EVENT_TYPES
from shopmind.data.schema import (
    Event,
    Order,
    OrderStatus,
    SalesPoint,
    now_utc,
)
from shopmind.errors import DataError, PermissionDenied, StoreError, UnknownIdError
from shopmind.privacy import redact_pii
from shopmind.store.base import WriteResult
from shopmind.store.queries.base import SqlBase
from shopmind.store.rows import (
    IN_CHUNK,
    event_columns,
    in_chunks,
    micros_to_datetime,
    order_row,
    quote_ident,
    raw_frame,
    rows_lenient,
)
from shopmind.store.tables import (
    EVENT_COLUMNS,
    click_log_t,
    events_t,
    orders_t,
    sales_t,
    search_log_t,
    to_micros,
)

log = logging.getLogger(__name__)

_EVENT_BULK_ROWS = 50_000  # rows handed to executemany / COPY at a time (bounds memory)


class ActivityQueries(SqlBase):
    """Events (bulk and single), orders, sales and the search/click logs."""

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
        columns = event_columns(frame)
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
            f"INSERT INTO events ({', '.join(quote_ident(c) for c in EVENT_COLUMNS)}) "
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
        cols = ", ".join(quote_ident(c) for c in EVENT_COLUMNS)
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
            inserted: int = cur.rowcount
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
        frame["timestamp"] = micros_to_datetime(frame["timestamp"])
        return frame[list(EVENT_COLUMNS)]

    def existing_event_ids(self, ids: Sequence[str]) -> set[str]:
        with self.engine.connect() as conn:
            return self._existing_ids(conn, events_t.c.id, ids)

    # ------------------------------------------------------------------ orders
    def upsert_orders(self, orders: Iterable[Order]) -> WriteResult:
        rows = [order_row(o) for o in orders]
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
            for oid, uid, lines, status, created in rows_lenient(conn, stmt, orders_t, "order", unreadable):
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
        frame["created_at"] = micros_to_datetime(frame["created_at"])
        return setaside.attach(frame, unreadable)

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
                for part in in_chunks(list(dict.fromkeys(df["item_id"].tolist())), IN_CHUNK):
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
                for part in in_chunks(list(dict.fromkeys(item_ids)), IN_CHUNK):
                    chunks.append(list(conn.execute(stmt.where(sales_t.c.item_id.in_(list(part)))).all()))
        rows = [r for c in chunks for r in c]
        frame = pd.DataFrame(rows, columns=["item_id", "date", "units", "price", "promo"])
        frame = setaside.split(frame, setaside.screen_sales(frame), "sale", ("item_id", "date"))
        frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")
        frame["units"] = frame["units"].astype("float64")
        frame["price"] = frame["price"].astype("float64")
        frame["promo"] = frame["promo"].astype(bool)
        return frame.sort_values(["item_id", "date"], kind="stable").reset_index(drop=True)

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
            frame = raw_frame(conn, stmt, cols, time_cols=("at",))
        frame["n_results"] = frame["n_results"].astype("int64")
        return frame

    def click_log_frame(self) -> pd.DataFrame:
        self.query_log.flush()
        cols = ["search_id", "item_id", "position", "at"]
        stmt = sa.select(*[click_log_t.c[c] for c in cols]).order_by(click_log_t.c.seq)
        with self.engine.connect() as conn:
            frame = raw_frame(conn, stmt, cols, time_cols=("at",))
        frame["position"] = frame["position"].astype("int64")
        return frame
