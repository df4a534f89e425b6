"""The storage contract every backend fulfils (SQLite by default, PostgreSQL in production).

Backends are chosen by URL (``open_store("sqlite:///var/shop.db")``). One contract test suite
(``tests/store/test_contract.py``) runs against every backend, against a real server.

Conventions:
* writes take model objects (``shopmind.data.schema``) or validated data frames and return a
  :class:`WriteResult`; a batch is applied in one transaction — all or nothing;
* event writes are idempotent on ``Event.id``: an id already stored is counted as a duplicate and
  not written again;
* reads return model objects for single records and pandas frames for bulk reads;
* every query that serves a customer is filtered by that customer's id inside the store call,
  never afterwards in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from shopmind.data.dataset import Dataset, EventWeights
from shopmind.data.schema import Document, Event, Item, Order, OrderStatus, Review, SalesPoint, User


@dataclass
class WriteResult:
    """What a write did: rows inserted, updated, skipped as duplicates."""

    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    deleted: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.duplicates + other.duplicates,
            self.deleted + other.deleted,
        )


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored API key: only the hash of the secret is kept."""

    id: str
    name: str
    scopes: tuple[str, ...]
    key_hash: str
    prefix: str
    user_id: str | None = None
    created_at: datetime | None = None
    revoked_at: datetime | None = None


TICKET_STATUSES: tuple[str, ...] = ("open", "in_progress", "resolved", "closed")
"""Life cycle of a ticket: taken up (``in_progress``), then ``resolved`` or ``closed``; reopened to ``open``."""

TICKET_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "resolved", "closed"}),
    "in_progress": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset({"open"}),
}
"""The status changes a ticket update may make (``status → allowed next statuses``)."""

TICKET_MAX_TURNS = 100
"""A stored transcript keeps the last this many turns before the hand-off (older ones are counted)."""
TICKET_MAX_TURN_CHARS = 4000
"""Longer turn texts are cut to this many characters (the chat route's message limit)."""
TICKET_MAX_NOTE_CHARS = 2000
TICKET_MAX_ASSIGNEE_CHARS = 128


@dataclass
class Ticket:
    """A hand-off to a person, with the conversation transcript.

    ``assignee``, ``note`` and ``updated_at`` come from the newest change (:meth:`Store.update_ticket`);
    ``history`` lists every change, oldest first (filled by :meth:`Store.get_ticket` only).
    """

    id: str
    conversation_id: str
    user_id: str | None
    reason: str
    transcript: list[dict[str, Any]] = field(default_factory=list)
    status: str = "open"
    created_at: datetime | None = None
    assignee: str | None = None
    note: str | None = None
    updated_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class IdentityCheck:
    """One audit record of the anonymous order look-up (order id + e-mail), without the e-mail.

    ``outcome`` is ``failed`` (wrong address), ``locked_out`` (this failure reached a limit),
    ``refused`` (not checked: a limit was already reached) or ``verified``. ``reason`` names the
    limit for the last two (``order``, ``key``, ``ip``, ``conversation``).
    """

    outcome: str
    order_id: str | None = None
    key_id: str | None = None
    client_ip: str | None = None
    conversation_id: str | None = None
    reason: str = ""
    at: datetime | None = None


@dataclass
class TrainingRunRecord:
    """One training attempt as every worker sees it (the ``training_runs`` table).

    ``id`` is the artifact run id; ``state`` is ``running``, ``succeeded`` or ``failed``. ``owner`` is
    the training process (``shopmind.store.artifacts.process_identity``) and ``heartbeat_at`` its last
    sign of life: a ``running`` record whose process is gone, or whose heartbeat is older than the
    lease, was abandoned (``shopmind.pipeline.abandoned_reason``).
    """

    id: str
    state: str
    started_at: datetime
    heartbeat_at: datetime
    components: list[str] | None = None
    owner: dict[str, Any] = field(default_factory=dict)
    finished_at: datetime | None = None
    seconds: float | None = None
    error: str | None = None
    progress: list[str] = field(default_factory=list)


@runtime_checkable
class Store(Protocol):
    """Persistent state of one shop. See the module docstring for the conventions."""

    url: str

    # --- catalogue, users ---------------------------------------------------------------
    def upsert_items(self, items: Iterable[Item]) -> WriteResult: ...
    def delete_items(self, ids: Sequence[str]) -> WriteResult: ...
    def get_item(self, item_id: str) -> Item | None: ...
    def get_items(self, ids: Sequence[str]) -> list[Item]: ...
    def items_frame(self) -> pd.DataFrame:
        """All items, one row each, columns as ``Item`` fields (``category`` a list, ``attributes`` a dict)."""
        ...

    def item_ids(self) -> set[str]: ...
    def items_page(
        self, *, after: str | None = None, limit: int = 50, category: str | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` item rows as stored, id order, ids after ``after`` (keyset pagination)."""
        ...

    def count_items(self) -> int: ...
    def shared_secret(self, name: str) -> str:
        """A random secret shared by every process using this store (created on first use)."""
        ...

    def upsert_users(self, users: Iterable[User]) -> WriteResult: ...
    def get_user(self, user_id: str) -> User | None: ...
    def users_frame(self) -> pd.DataFrame: ...
    def user_ids(self) -> set[str]: ...

    # --- behaviour ----------------------------------------------------------------------
    def add_events(self, events: Iterable[Event]) -> WriteResult: ...
    def add_events_frame(self, frame: pd.DataFrame) -> WriteResult:
        """Bulk path: a validated frame with Event's columns (timestamp as UTC datetimes)."""
        ...

    def events_frame(
        self,
        *,
        user_id: str | None = None,
        types: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> pd.DataFrame: ...
    def existing_event_ids(self, ids: Sequence[str]) -> set[str]: ...
    def load_dataset(self, weights: EventWeights | None = None) -> Dataset:
        """Items, users and item events as the immutable training ``Dataset``."""
        ...

    # --- orders, documents, sales, reviews ------------------------------------------------
    def upsert_orders(self, orders: Iterable[Order]) -> WriteResult: ...
    def get_order(self, order_id: str) -> Order | None: ...
    def orders_for_user(self, user_id: str) -> list[Order]: ...
    def set_order_status(self, order_id: str, status: OrderStatus, *, user_id: str) -> Order:
        """Change status of ``user_id``'s order; raises ``PermissionDenied`` for someone else's."""
        ...

    def orders_frame(self) -> pd.DataFrame:
        """One row per order line: order_id, user_id, item_id, quantity, unit_price, status, created_at."""
        ...

    def upsert_documents(self, docs: Iterable[Document]) -> WriteResult: ...
    def documents(self, language: str | None = None) -> list[Document]: ...
    def add_sales(self, points: Iterable[SalesPoint]) -> WriteResult:
        """Upsert on (item_id, date)."""
        ...

    def sales_frame(self, item_ids: Sequence[str] | None = None) -> pd.DataFrame: ...
    def upsert_reviews(self, reviews: Iterable[Review]) -> WriteResult: ...
    def reviews_frame(self, item_id: str | None = None) -> pd.DataFrame: ...

    # --- search log -------------------------------------------------------------------------
    def log_search(
        self,
        *,
        query: str,
        user_id: str | None,
        n_results: int,
        result_ids: Sequence[str],
        at: datetime | None = None,
    ) -> str:
        """Store a search and its shown results; returns the search id for click logging."""
        ...

    def log_click(
        self, *, search_id: str, item_id: str, position: int, at: datetime | None = None
    ) -> None: ...
    def search_log_frame(self) -> pd.DataFrame:
        """Columns: search_id, query, user_id, n_results, result_ids (list), at."""
        ...

    def click_log_frame(self) -> pd.DataFrame:
        """Columns: search_id, item_id, position (1-based), at."""
        ...

    # --- assistant ----------------------------------------------------------------------------
    def append_message(
        self,
        conversation_id: str,
        *,
        user_id: str | None,
        role: str,
        text: str,
        meta: dict[str, Any] | None = None,
    ) -> None: ...
    def conversation(self, conversation_id: str) -> list[dict[str, Any]]: ...
    def create_ticket(self, ticket: Ticket) -> Ticket:
        """Store a new ticket; its transcript keeps the last :data:`TICKET_MAX_TURNS` turns, each cut
        to :data:`TICKET_MAX_TURN_CHARS` characters (an ``omitted`` turn first counts the dropped ones)."""
        ...

    def tickets(self, status: str | None = None) -> list[Ticket]: ...
    def tickets_page(self, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[Ticket]:
        """Up to ``limit`` tickets, newest first (``created_at``, then id), after skipping ``offset``."""
        ...

    def count_tickets(self, status: str | None = None) -> int: ...
    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """One ticket with its transcript and its change ``history``; None if unknown."""
        ...

    def conversations_page(self, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Conversations, the most recently active first: dicts with conversation_id, user_id,
        started_at, last_at, turns, first_text (the first message) and ticket_ids."""
        ...

    def count_conversations(self) -> int: ...
    def update_ticket(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        assignee: str | None = None,
        note: str | None = None,
        by: str | None = None,
    ) -> Ticket | None:
        """Change status (one of :data:`TICKET_TRANSITIONS`), assignee or note; None if unknown.

        A status change the life cycle does not allow raises ``DataError`` and writes nothing; the
        change is checked against the status read in the same transaction, so two concurrent updates
        cannot both move the ticket from the same status. Every change is kept in the history.
        """
        ...

    # --- API keys -------------------------------------------------------------------------------
    def add_api_key(self, record: ApiKeyRecord) -> None: ...
    def api_keys(self, include_revoked: bool = False) -> list[ApiKeyRecord]: ...
    def api_key_by_prefix(self, prefix: str) -> list[ApiKeyRecord]: ...
    def revoke_api_key(self, key_id: str) -> bool: ...

    # --- identity checks (rate limits of anonymous order look-ups, shared by all workers) -----------
    def log_identity_check(self, check: IdentityCheck) -> None: ...
    def identity_failure_times(
        self,
        *,
        since: datetime,
        limit: int,
        order_id: str | None = None,
        key_id: str | None = None,
        client_ip: str | None = None,
    ) -> dict[str, list[datetime]]:
        """Times of ``failed`` checks at or after ``since``, newest first, at most ``limit`` each.

        One entry per subject given (keys ``order_id``, ``key_id``, ``client_ip``).
        """
        ...

    def identity_checks(self, *, since: datetime | None = None, limit: int = 1000) -> list[IdentityCheck]:
        """The audit log, oldest first."""
        ...

    def prune_identity_checks(self, before: datetime) -> int:
        """Delete audit records older than ``before``; returns how many."""
        ...

    # --- training runs (shared by every worker; see TrainingRunRecord) ----------------------------
    def add_training_run(self, record: TrainingRunRecord) -> None: ...
    def update_training_run(self, run_id: str, **fields: Any) -> bool:
        """Set ``fields`` (``TrainingRunRecord`` attributes) of one record; False if it is unknown."""
        ...

    def training_runs(self, *, state: str | None = None, limit: int = 20) -> list[TrainingRunRecord]:
        """Training records, newest first (by ``started_at``)."""
        ...

    # --- shared small state (the meta table): training progress, the schedule's claims ---------------
    def meta_value(self, key: str) -> str | None:
        """The value stored under ``key`` (at most 64 characters), None when there is none."""
        ...

    def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing what was there."""
        ...

    def swap_meta(self, key: str, expected: str | None, value: str) -> bool:
        """Atomically store ``value`` under ``key`` if the current value is ``expected`` (None: there is
        none yet); False, changing nothing, if another writer got there first (compare-and-set)."""
        ...

    # --- privacy (shopmind.privacy) ---------------------------------------------------------------
    def meta_secret(self, key: str) -> str:
        """A random secret kept in the store under ``key``, created on first use."""
        ...

    def erase_user(self, user_id: str) -> dict[str, int]:
        """Delete one customer's data in one transaction (orders kept, anonymised); counts per kind."""
        ...

    def customer_erased_at(self, user_id: str) -> datetime | None:
        """When ``user_id`` was last erased by :meth:`erase_user` (which records it), or None."""
        ...

    def purge_before(
        self, *, events_before: datetime | None = None, conversations_before: datetime | None = None
    ) -> dict[str, int]:
        """Retention: delete events/searches/clicks and whole conversations older than the cut-offs."""
        ...

    def add_privacy_audit(
        self,
        *,
        action: str,
        subject_hash: str | None,
        requested_by: str,
        details: dict[str, Any],
        at: datetime | None = None,
    ) -> int:
        """Append an audit record without personal data; returns its id."""
        ...

    def privacy_audit(self, *, limit: int = 1000) -> list[dict[str, Any]]:
        """The newest ``limit`` audit records, oldest first."""
        ...

    # --- housekeeping ----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Row counts per table, for status pages and tests."""
        ...

    def close(self) -> None: ...
