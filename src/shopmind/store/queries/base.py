"""What every query mixin of :class:`~shopmind.store.sql.SqlStore` shares: the engine, the
dialect's INSERT, transactions and the generic compare-then-upsert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from shopmind.store.base import WriteResult
from shopmind.store.querylog import QueryLogWriter
from shopmind.store.rows import IN_CHUNK, dedupe_last, in_chunks, same_row


class SqlBase:
    """The connection state every query mixin uses (set by :class:`~shopmind.store.sql.SqlStore`)."""

    url: str
    dialect_name: str
    engine: Engine
    query_log: QueryLogWriter
    _meta_secrets: dict[str, str]

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
        rows, repeated = dedupe_last(rows, key)
        if conn is None:
            with self._begin() as c:
                res = self._upsert(table, rows, key, c, written)
        else:
            existing = self._fetch_by_keys(conn, table, key, [tuple(r[k] for k in key) for r in rows])
            new = [r for r in rows if tuple(r[k] for k in key) not in existing]
            changed = [
                r
                for r in rows
                if (old := existing.get(tuple(r[k] for k in key))) is not None and not same_row(old, r)
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
            for part in in_chunks([k[0] for k in keys], IN_CHUNK):
                for row in conn.execute(sa.select(table).where(col.in_(list(part)))).mappings():
                    out[(row[key[0]],)] = dict(row)
        else:
            # Composite keys (sales: item_id, date): select by the leading column, which the primary
            # key index serves, and keep the wanted combinations — an OR of ANDs would scan the table.
            wanted = set(keys)
            col = table.c[key[0]]
            for part in in_chunks(list(dict.fromkeys(k[0] for k in keys)), IN_CHUNK):
                for row in conn.execute(sa.select(table).where(col.in_(list(part)))).mappings():
                    k = tuple(row[name] for name in key)
                    if k in wanted:
                        out[k] = dict(row)
        return out

    def _existing_ids(self, conn: Connection, column: sa.Column[Any], ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(str(i) for i in ids))
        for part in in_chunks(unique, IN_CHUNK):
            found.update(conn.execute(sa.select(column).where(column.in_(list(part)))).scalars())
        return found
