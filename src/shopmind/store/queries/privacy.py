"""Privacy queries: erasure of one customer, retention purges, the audit, shared secrets."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shopmind.data.schema import (
    now_utc,
)
from shopmind.privacy import erased_user_id, subject_hash
from shopmind.store.queries.base import SqlBase
from shopmind.store.rows import IN_CHUNK, in_chunks
from shopmind.store.tables import (
    api_keys_t,
    click_log_t,
    erased_customers_t,
    events_t,
    identity_checks_t,
    messages_t,
    meta_t,
    orders_t,
    privacy_audit_t,
    reviews_t,
    search_log_t,
    tickets_t,
    to_micros,
    users_t,
)

log = logging.getLogger(__name__)


class PrivacyQueries(SqlBase):
    """Erasure, retention purges, the privacy audit and the store's random secrets."""

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
            for part in in_chunks(searches, IN_CHUNK):
                counts["clicks"] += conn.execute(
                    sa.delete(click_log_t).where(click_log_t.c.search_id.in_(list(part)))
                ).rowcount
            counts["searches"] = conn.execute(
                sa.delete(search_log_t).where(search_log_t.c.user_id == user_id)
            ).rowcount
            counts["messages"] = counts["tickets"] = 0
            for part in in_chunks(sorted(conversations), IN_CHUNK):
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
            for part in in_chunks(order_ids, IN_CHUNK):
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
        for part in in_chunks(list(order_ids), 50):
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
