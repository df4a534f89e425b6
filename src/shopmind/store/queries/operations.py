"""Operational queries: conversations and tickets, API keys, identity checks, training runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shopmind.data.schema import (
    now_utc,
)
from shopmind.errors import DataError, StoreError
from shopmind.privacy import redact_pii
from shopmind.store.base import (
    TICKET_MAX_ASSIGNEE_CHARS,
    TICKET_MAX_NOTE_CHARS,
    TICKET_MAX_TURN_CHARS,
    TICKET_MAX_TURNS,
    TICKET_STATUSES,
    TICKET_TRANSITIONS,
    ApiKeyRecord,
    IdentityCheck,
    Ticket,
    TrainingRunRecord,
)
from shopmind.store.queries.base import SqlBase
from shopmind.store.rows import key_from_row, redacted_transcript
from shopmind.store.tables import (
    api_keys_t,
    from_micros,
    identity_checks_t,
    messages_t,
    meta_t,
    ticket_updates_t,
    tickets_t,
    training_runs_t,
)


class OperationsQueries(SqlBase):
    """Assistant transcripts and tickets, API keys, identity checks, training runs."""

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
            transcript=_bounded_transcript(ticket.transcript),
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
                        transcript=redacted_transcript(stored.transcript),
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

    def tickets_page(self, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[Ticket]:
        stmt = (
            sa.select(tickets_t)
            .order_by(tickets_t.c.created_at.desc(), tickets_t.c.id.desc())
            .limit(max(int(limit), 0))
            .offset(max(int(offset), 0))
        )
        if status is not None:
            stmt = stmt.where(tickets_t.c.status == status)
        with self.engine.connect() as conn:
            tickets = [Ticket(**dict(r)) for r in conn.execute(stmt).mappings()]
            latest = self._latest_ticket_updates(conn, [t.id for t in tickets])
        for t in tickets:
            _apply_update(t, latest.get(t.id))
        return tickets

    def conversations_page(self, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        m = messages_t.c
        page = (
            sa.select(
                m.conversation_id,
                sa.func.min(m.seq).label("first_seq"),
                sa.func.min(m.at).label("started_at"),
                sa.func.max(m.at).label("last_at"),
                sa.func.count().label("turns"),
            )
            .group_by(m.conversation_id)
            .order_by(sa.func.max(m.at).desc(), m.conversation_id.desc())
            .limit(max(int(limit), 0))
            .offset(max(int(offset), 0))
        )
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(page).mappings()]
            ids = [r["conversation_id"] for r in rows]
            first = {
                r["seq"]: r
                for r in conn.execute(
                    sa.select(m.seq, m.user_id, m.text).where(m.seq.in_([r["first_seq"] for r in rows]))
                ).mappings()
            }
            tickets: dict[str, list[str]] = {}
            if ids:
                stmt = (
                    sa.select(tickets_t.c.conversation_id, tickets_t.c.id)
                    .where(tickets_t.c.conversation_id.in_(ids))
                    .order_by(tickets_t.c.created_at)
                )
                for cid, tid in conn.execute(stmt):
                    tickets.setdefault(cid, []).append(tid)
        out = []
        for r in rows:
            opening = first.get(r["first_seq"])
            out.append(
                {
                    "conversation_id": r["conversation_id"],
                    # a conversation belongs to the user of its first message (assistant.dialogue)
                    "user_id": None if opening is None else opening["user_id"],
                    "started_at": _utc(r["started_at"]),
                    "last_at": _utc(r["last_at"]),
                    "turns": int(r["turns"]),
                    "first_text": "" if opening is None else opening["text"],
                    "ticket_ids": tickets.get(r["conversation_id"], []),
                }
            )
        return out

    def count_conversations(self) -> int:
        stmt = sa.select(sa.func.count(sa.distinct(messages_t.c.conversation_id)))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def count_tickets(self, status: str | None = None) -> int:
        stmt = sa.select(sa.func.count()).select_from(tickets_t)
        if status is not None:
            stmt = stmt.where(tickets_t.c.status == status)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tickets_t).where(tickets_t.c.id == ticket_id)).mappings().first()
            if row is None:
                return None
            history = [
                {k: v for k, v in r.items() if k not in ("seq", "ticket_id")}
                for r in conn.execute(
                    sa.select(ticket_updates_t)
                    .where(ticket_updates_t.c.ticket_id == ticket_id)
                    .order_by(ticket_updates_t.c.seq)
                ).mappings()
            ]
        ticket = Ticket(**dict(row))
        ticket.history = history
        _apply_update(ticket, history[-1] if history else None)
        return ticket

    def update_ticket(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        assignee: str | None = None,
        note: str | None = None,
        by: str | None = None,
    ) -> Ticket | None:
        if status is not None and status not in TICKET_STATUSES:
            raise DataError("unknown ticket status", value=status, expected=" | ".join(TICKET_STATUSES))
        if assignee is not None and len(assignee) > TICKET_MAX_ASSIGNEE_CHARS:
            raise DataError(
                "assignee too long", value=len(assignee), expected=f"≤ {TICKET_MAX_ASSIGNEE_CHARS} characters"
            )
        if note is not None and len(note) > TICKET_MAX_NOTE_CHARS:
            raise DataError(
                "note too long", value=len(note), expected=f"≤ {TICKET_MAX_NOTE_CHARS} characters"
            )
        with self._begin() as conn:
            current = conn.execute(
                sa.select(tickets_t.c.status).where(tickets_t.c.id == ticket_id)
            ).scalar_one_or_none()
            if current is None:
                return None
            new_status = current if status is None else status
            if new_status != current and new_status not in TICKET_TRANSITIONS.get(current, frozenset()):
                allowed = sorted(TICKET_TRANSITIONS.get(current, frozenset()))
                raise DataError(
                    f"a ticket that is {current} cannot become {new_status}",
                    value=new_status,
                    expected=" | ".join(allowed) or "no change",
                )
            if new_status != current:
                # compare-and-set: a concurrent update that changed the status first wins, this one fails
                moved = conn.execute(
                    sa.update(tickets_t)
                    .where(tickets_t.c.id == ticket_id, tickets_t.c.status == current)
                    .values(status=new_status)
                ).rowcount
                if not moved:
                    raise DataError(
                        "the ticket's status changed meanwhile", value=new_status, expected="reload and retry"
                    )
            previous = self._latest_ticket_updates(conn, [ticket_id]).get(ticket_id)
            kept = previous["assignee"] if previous is not None else None
            conn.execute(
                ticket_updates_t.insert().values(
                    ticket_id=ticket_id,
                    status=new_status,
                    previous_status=current,
                    # "" clears the assignee; None keeps the current one
                    assignee=kept if assignee is None else (assignee.strip() or None),
                    note=None if not note else redact_pii(note),
                    changed_by=by,
                    at=now_utc(),
                )
            )
        return self.get_ticket(ticket_id)

    def _latest_ticket_updates(self, conn: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The newest change of each ticket in ``ids`` (one query; ``ids`` is one page)."""
        if not ids:
            return {}
        newest = (
            sa.select(sa.func.max(ticket_updates_t.c.seq))
            .where(ticket_updates_t.c.ticket_id.in_(ids))
            .group_by(ticket_updates_t.c.ticket_id)
        )
        rows = conn.execute(sa.select(ticket_updates_t).where(ticket_updates_t.c.seq.in_(newest))).mappings()
        return {r["ticket_id"]: dict(r) for r in rows}

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
            return [key_from_row(r) for r in conn.execute(stmt).mappings()]

    def api_key_by_prefix(self, prefix: str) -> list[ApiKeyRecord]:
        """Active (not revoked) keys with this prefix; revoked keys are never candidates for auth."""
        stmt = sa.select(api_keys_t).where(api_keys_t.c.prefix == prefix, api_keys_t.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [key_from_row(r) for r in conn.execute(stmt).mappings()]

    def revoke_api_key(self, key_id: str) -> bool:
        """True when an active key was revoked now; False if unknown or already revoked."""
        with self._begin() as conn:
            revoked: int = conn.execute(
                sa.update(api_keys_t)
                .where(api_keys_t.c.id == key_id, api_keys_t.c.revoked_at.is_(None))
                .values(revoked_at=now_utc())
            ).rowcount
            return revoked > 0

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

    # ------------------------------------------------------------------ shared small state
    META_KEY_CHARS = 64

    def _meta_key(self, key: str) -> str:
        if not key or len(key) > self.META_KEY_CHARS:
            raise DataError("meta key must be 1-64 characters", value=key[:80], expected="a short key")
        return key

    def meta_value(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(meta_t.c.value).where(meta_t.c.key == self._meta_key(key))
            ).scalar()
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        stmt = self._insert(meta_t).values(key=self._meta_key(key), value=str(value))
        with self._begin() as conn:
            conn.execute(
                stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value})
            )

    def swap_meta(self, key: str, expected: str | None, value: str) -> bool:
        # one statement each way: INSERT .. ON CONFLICT DO NOTHING creates the row once; the UPDATE's
        # WHERE value = expected is re-checked against the newest row by PostgreSQL (and serialised by
        # SQLite's write lock), so of two writers expecting the same value only one changes a row
        key = self._meta_key(key)
        if expected is None:
            stmt = (
                self._insert(meta_t)
                .values(key=key, value=str(value))
                .on_conflict_do_nothing(index_elements=["key"])
            )
        else:
            stmt = (
                sa.update(meta_t)
                .where(meta_t.c.key == key, meta_t.c.value == str(expected))
                .values(value=str(value))
            )
        # RETURNING says whether this statement wrote the row (rowcount is not reliable for an upsert)
        with self._begin() as conn:
            return conn.execute(stmt.returning(meta_t.c.key)).first() is not None


def _utc(value: Any) -> datetime:
    """An aggregate of a timestamp column: a datetime where the column type applied, else micros."""
    return value if isinstance(value, datetime) else from_micros(int(value))


def _apply_update(ticket: Ticket, update: dict[str, Any] | None) -> None:
    """Copy the newest change's assignee, note and time onto ``ticket``."""
    if update is not None:
        ticket.assignee = update["assignee"]
        ticket.note = update["note"]
        ticket.updated_at = update["at"]


def _bounded_transcript(transcript: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last :data:`TICKET_MAX_TURNS` turns, texts cut to :data:`TICKET_MAX_TURN_CHARS`.

    When turns are dropped, a first turn ``{"role": "omitted", "text": "", "count": n}`` says how many,
    so a reader knows the transcript does not start at the beginning of the conversation.
    """
    turns = list(transcript)
    dropped = max(len(turns) - TICKET_MAX_TURNS, 0)
    out: list[dict[str, Any]] = [{"role": "omitted", "text": "", "count": dropped}] if dropped else []
    for turn in turns[dropped:]:
        if isinstance(turn, dict) and isinstance(turn.get("text"), str):
            turn = {**turn, "text": turn["text"][:TICKET_MAX_TURN_CHARS]}
        out.append(turn)
    return out
