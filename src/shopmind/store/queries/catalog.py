"""Catalogue queries: items (and their change log), users, documents, reviews."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.engine import Connection

from shopmind.data import setaside
from shopmind.data.schema import (
    Document,
    Item,
    Review,
    User,
    now_utc,
)
from shopmind.store.base import WriteResult
from shopmind.store.queries.base import SqlBase
from shopmind.store.rows import (
    IN_CHUNK,
    in_chunks,
    item_from_row,
    item_row,
    micros_to_datetime,
    table_frame_lenient,
)
from shopmind.store.tables import documents_t, item_changes_t, items_t, meta_t, reviews_t, users_t

log = logging.getLogger(__name__)


class CatalogQueries(SqlBase):
    """Items, the item change log, users, documents and reviews."""

    # ------------------------------------------------------------------ items
    def upsert_items(self, items: Iterable[Item]) -> WriteResult:
        rows = [item_row(i) for i in items]
        written: list[dict[str, Any]] = []
        with self._begin() as conn:
            res = self._upsert(items_t, rows, ("id",), conn, written)
            self._log_item_changes(conn, [r["id"] for r in written], deleted=False)
        return res

    def delete_items(self, ids: Sequence[str]) -> WriteResult:
        deleted = 0
        with self._begin() as conn:
            gone = self._existing_ids(conn, items_t.c.id, ids)
            for part in in_chunks(list(ids), IN_CHUNK):
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
        return [item_from_row(rows[(str(i),)]) for i in dict.fromkeys(ids) if (str(i),) in rows]

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
            frame, unreadable = table_frame_lenient(conn, sa.select(table).order_by(table.c.id), table, kind)
        frame["created_at"] = micros_to_datetime(frame["created_at"])
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

    # ------------------------------------------------------------------ documents
    def upsert_documents(self, docs: Iterable[Document]) -> WriteResult:
        return self._upsert(documents_t, [d.model_dump() for d in docs], ("id",))

    def documents(self, language: str | None = None) -> list[Document]:
        stmt = sa.select(documents_t).order_by(documents_t.c.id)
        if language is not None:
            stmt = stmt.where(documents_t.c.language == language)
        with self.engine.connect() as conn:
            return [Document.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

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
        frame["created_at"] = micros_to_datetime(frame["created_at"])
        return frame
